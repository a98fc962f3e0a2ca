"""unet_course.metrics: defining properties, hand-made cases with known answers, agreement
with scikit-image, and a sequential re-implementation of Fiji's warping loop."""
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.metrics import adapted_rand_error, contingency_table

from unet_course.metrics import (ISBI_THRESHOLDS, ISBI2012_TABLE, CELL_TRACKING_TABLE, SIMPLE_LUT,
                                 isbi_scores,
                                 cells, classify_mismatches, foreground_iou, iou_per_class,
                                 match_instances, pixel_error, rand_error, rand_f_score,
                                 warp_label, warping_error)
from unet_course.metrics.warping import KINDS, _NEIGHBOURS


def two_cells(h=8, w=9, wall=4):
    """Two cells side by side, a one-pixel membrane column at x = wall (label: 1 = cell)."""
    label = np.ones((h, w), np.uint8)
    label[:, wall] = 0
    return label


def blobs(rng, shape=(40, 40), sigma=3.0, level=0.0):
    return ndi.gaussian_filter(rng.normal(size=shape), sigma) > level


def test_fiji_thresholds_are_ten_with_java_rounding():
    assert len(ISBI_THRESHOLDS) == 10 and ISBI_THRESHOLDS[0] == 0.0
    assert ISBI_THRESHOLDS[3] == 0.30000000000000004 and ISBI_THRESHOLDS[-1] < 0.9


def test_identical_maps_score_perfectly():
    label = two_cells()
    pred = label.astype(np.float32)
    assert pixel_error(pred, label) == 0
    assert rand_error(pred, label) == 0
    assert warping_error(pred, label) == 0
    assert warping_error(pred, label, mode="classic") == 0
    assert foreground_iou(pred, label) == 1


def test_shifted_boundary_costs_pixels_but_no_topology():
    label = np.ones((12, 14), np.uint8)
    label[:, 5:7] = 0                       # membrane at x = 5, 6
    pred = np.ones((12, 14), np.float32)
    pred[:, 7:9] = 0                        # same membrane two pixels to the right
    assert pixel_error(pred, label) == pytest.approx(4 / 14)
    assert warping_error(pred, label) == 0
    assert warping_error(pred, label, mode="classic") == 0
    assert rand_error(pred, label) > 0      # the Rand error sees the moved pixels


def test_gap_in_membrane_is_one_merge_pixel():
    label = two_cells()
    pred = label.astype(np.float32)
    pred[3, 4] = 1                          # one-pixel gap: the two cells merge
    warp = warp_label(pred, label, 0.5)
    assert warp.mismatches.tolist() == [[3, 4]]          # the gap cannot be warped away
    assert KINDS[classify_mismatches(warp.warped, warp.mismatches)[0]] == "merge"
    assert warping_error(pred, label) == pytest.approx(1 / label.size)
    assert pixel_error(pred, label) == pytest.approx(1 / label.size)
    assert rand_error(pred, label) > 0.3    # one pixel, half the pairs wrong


def test_cut_through_a_cell_is_one_split_pixel():
    label = np.ones((8, 9), np.uint8)       # one cell filling the image
    pred = two_cells().astype(np.float32)   # a membrane cuts it in two
    warp = warp_label(pred, label, 0.5)
    assert warp.mismatches.tolist() == [[7, 4]]  # column warped top-down; the last flip would split
    assert KINDS[classify_mismatches(warp.warped, warp.mismatches)[0]] == "split"
    assert warping_error(pred, label) == pytest.approx(1 / label.size)


def test_hole_counts_in_classic_mode_only():
    label = np.ones((7, 7), np.uint8)
    pred = np.ones((7, 7), np.float32)
    pred[3, 3] = 0                          # a hole inside the cell
    warp = warp_label(pred, label, 0.5)
    assert KINDS[classify_mismatches(warp.warped, warp.mismatches)[0]] == "hole_addition"
    assert warping_error(pred, label) == 0
    assert warping_error(pred, label, mode="classic") == pytest.approx(1 / 49)


def test_object_addition_and_deletion_are_not_splits_or_merges():
    label = np.zeros((7, 7), np.uint8)
    pred = np.zeros((7, 7), np.float32)
    pred[3, 3] = 1                          # a cell where there is none
    warp = warp_label(pred, label, 0.5)
    assert KINDS[classify_mismatches(warp.warped, warp.mismatches)[0]] == "object_addition"
    assert warping_error(pred, label) == 0
    missed = warp_label(label.astype(np.float32), pred)     # the true cell is not predicted
    assert missed.mismatches.tolist() == [[3, 3]]
    assert KINDS[classify_mismatches(missed.warped, missed.mismatches)[0]] == "object_deletion"
    assert warping_error(label.astype(np.float32), pred) == 0


def test_best_threshold_is_reported():
    label = two_cells()
    pred = np.where(label > 0, 0.8, 0.3).astype(np.float32)
    pred[3, 4] = 0.45                      # a weak gap: merged at thresholds below 0.45
    error, th = warping_error(pred, label, return_threshold=True)
    assert (error, th) == (0, 0.5)          # first threshold above the gap's 0.45
    assert warping_error(pred, label, thresholds=[0.4]) == pytest.approx(1 / label.size)


# --- the simple-point table ------------------------------------------------------------

def _ring(code):
    patch = np.zeros((3, 3), np.uint8)
    for bit, (dy, dx) in enumerate(_NEIGHBOURS):
        patch[1 + dy, 1 + dx] = (code >> bit) & 1
    return patch


def test_simple_point_table_on_known_neighbourhoods():
    def code(patch):
        return sum(int(patch[1 + dy, 1 + dx]) << b for b, (dy, dx) in enumerate(_NEIGHBOURS))
    line = np.array([[0, 1, 0], [0, 0, 0], [0, 1, 0]])       # cell above and below: a bridge
    corner = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]])     # cell in one corner: an edge
    diagonal = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0]])   # only diagonal: 4-disconnected
    full = np.ones((3, 3))                                   # inside a cell: flipping = hole
    assert not SIMPLE_LUT[code(line)] and SIMPLE_LUT[code(corner)]
    assert not SIMPLE_LUT[code(diagonal)] and not SIMPLE_LUT[code(full)]
    assert not SIMPLE_LUT[0]                                 # isolated pixel: object


def test_simple_point_means_flipping_keeps_the_component_counts():
    for code in range(256):
        patch = _ring(code)
        big = np.zeros((5, 5), np.uint8)
        big[1:4, 1:4] = patch
        counts = []
        for centre in (0, 1):
            big[2, 2] = centre
            n_cell = ndi.label(big)[1]
            n_mem = ndi.label(np.pad(1 - big, 1, constant_values=1), np.ones((3, 3)))[1]
            counts.append((n_cell, n_mem))
        assert SIMPLE_LUT[code] == (counts[0] == counts[1]), code


# --- the warping loop against a plain sequential version of Fiji's loop ------------------

def sequential_warp(pred, label, th):
    h, w = label.shape
    src = np.pad(label > 0, 1).astype(np.uint8)
    tgt = np.pad(pred > th, 1).astype(np.uint8)
    z = np.pad(np.abs(pred.astype(np.float64) - th).astype(np.float32), 1)
    before = -1
    while True:
        mism = [(x, y) for x in range(1, w + 1) for y in range(1, h + 1) if src[y, x] != tgt[y, x]]
        if not mism or len(mism) == before:
            break
        before = len(mism)
        mism.sort(key=lambda p: -z[p[1], p[0]])          # stable, as Collections.sort
        for x, y in mism:
            code = sum(int(src[y + dy, x + dx]) << b for b, (dy, dx) in enumerate(_NEIGHBOURS))
            if SIMPLE_LUT[code]:
                src[y, x] ^= 1
    return src[1:-1, 1:-1].astype(bool)


@pytest.mark.parametrize("seed", range(6))
def test_wave_warp_equals_sequential_warp(seed):
    rng = np.random.default_rng(seed)
    label = blobs(rng, (30, 34), sigma=2.5)
    pred = ndi.gaussian_filter(label.astype(float), 1.5) + 0.35 * ndi.gaussian_filter(
        rng.normal(size=label.shape), 1.0)
    pred = np.clip(pred, 0, 1).astype(np.float32)
    if seed % 2:
        pred = np.round(pred * 4) / 4                   # many ties in |p - th|
    for th in (0.0, 0.30000000000000004, 0.5, 0.8999999999999999):
        assert np.array_equal(warp_label(pred, label, th).warped, sequential_warp(pred, label, th))


def grid(n=3, size=6):
    """n x n cells of size x size separated by one-pixel membranes (label: 1 = cell)."""
    label = np.ones((n * (size + 1) - 1,) * 2, np.uint8)
    label[size::size + 1, :] = 0
    label[:, size::size + 1] = 0
    return label


def test_warping_error_is_positive_for_merges_and_splits_on_a_grid():
    label = grid()
    merged = np.ones(label.shape, np.float32)                 # every membrane missing
    assert warping_error(merged, label) > 0
    kinds = classify_mismatches(*warp_label(merged, label)[::2])
    assert set(KINDS[k] for k in kinds) == {"merge"}
    cut = label.astype(np.float32)
    cut[3, :] = 0                                             # a membrane through three cells
    kinds = classify_mismatches(*warp_label(cut, label)[::2])
    assert sum(KINDS[k] == "split" for k in kinds) == 3       # one split pixel per cut cell
    assert warping_error(cut, label) == pytest.approx(3 / label.size)


# --- Rand and IoU against scikit-image --------------------------------------------------

@pytest.mark.parametrize("seed", range(5))
def test_rand_f_score_matches_skimage(seed):
    rng = np.random.default_rng(seed)
    true_cells, pred_mask = cells(blobs(rng)), blobs(rng, sigma=2, level=-0.3)
    pred_cells = cells(pred_mask)
    singles = pred_cells.copy()
    singles[pred_mask == 0] = pred_cells.max() + 1 + np.arange(np.count_nonzero(pred_mask == 0))
    are, prec, rec = adapted_rand_error(true_cells, singles)
    ours = rand_f_score(pred_cells, true_cells, self_pairs=False)
    assert ours.f_score == pytest.approx(1 - are, abs=1e-12)
    assert (ours.precision, ours.recall) == pytest.approx((rec, prec), abs=1e-12)
    fiji = rand_f_score(pred_cells, true_cells)            # with self-pairs: close, not equal
    assert fiji.f_score == pytest.approx(1 - are, abs=0.05)


def test_rand_error_is_one_minus_the_best_f_score():
    rng = np.random.default_rng(7)
    label = blobs(rng)
    pred = np.clip(ndi.gaussian_filter(label.astype(float), 2) + 0.2 * rng.random(label.shape), 0, 1)
    best = max(rand_f_score(cells(pred > th), cells(label)).f_score for th in ISBI_THRESHOLDS)
    error, th = rand_error(pred, label, return_threshold=True)
    assert error == pytest.approx(1 - best) and th in ISBI_THRESHOLDS


@pytest.mark.parametrize("seed", range(4))
def test_iou_matches_skimage_contingency(seed):
    rng = np.random.default_rng(seed)
    p, t = rng.integers(0, 3, (20, 25)), rng.integers(0, 3, (20, 25))
    table = contingency_table(t, p, ignore_labels=[]).toarray()
    expected = np.diag(table) / (table.sum(0) + table.sum(1) - np.diag(table))
    assert np.allclose(iou_per_class(p, t), expected)
    prob = rng.random((20, 25))
    assert foreground_iou(prob, t > 1) == pytest.approx(iou_per_class(prob > 0.5, t > 1)[1])


# --- instances ------------------------------------------------------------------------

def test_match_instances_counts_merges_and_splits():
    truth = ndi.label(two_cells())[0]
    same = match_instances(truth, truth)
    assert (same.precision, same.recall, same.f1, same.merged, same.split) == (1, 1, 1, 0, 0)
    merged = match_instances(np.ones_like(truth), truth)
    assert merged.merged == 2 and merged.matched == 0 and merged.split == 0
    one = (truth > 0).astype(int) * 0 + 1
    split = match_instances(truth, one)
    assert split.split == 1 and split.merged == 0 and split.recall == 0


# --- the paper's tables -----------------------------------------------------------------

def test_paper_tables_hold_the_u_net_rows_with_sources():
    unet = next(r for r in ISBI2012_TABLE if r["group"] == "u-net")
    assert (unet["warping_error"], unet["rand_error"], unet["pixel_error"]) == (0.000353, 0.0382, 0.0611)
    assert all("1505.04597" in r["source"] for r in ISBI2012_TABLE + CELL_TRACKING_TABLE)
    assert CELL_TRACKING_TABLE[0]["PhC-U373"] == 0.9203 and CELL_TRACKING_TABLE[0]["DIC-HeLa"] == 0.7756


def test_table_1_is_ranked_by_warping_error_as_the_challenge_did():
    ranked = [r for r in ISBI2012_TABLE if r["rank"] is not None]
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4, 10]
    warping = [r["warping_error"] for r in ranked]
    assert warping == sorted(warping)
    # u-net wins on warping error, not on Rand or pixel error (DIVE-SCI, DIVE, IDSIA-SCI do)
    assert min(ranked, key=lambda r: r["rand_error"])["group"] == "IDSIA-SCI"
    assert min(ranked, key=lambda r: r["pixel_error"])["group"] == "DIVE"


# --- errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("metric", [pixel_error, foreground_iou, rand_error, warping_error])
def test_bad_inputs_are_named(metric):
    label = two_cells()
    with pytest.raises(ValueError, match=r"shape \(8, 9\).*shape \(8, 8\)|\(8, 8\).*\(8, 9\)"):
        metric(np.zeros((8, 8)), label)
    with pytest.raises(ValueError, match="empty"):
        metric(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="binary.*3 distinct values"):
        metric(label.astype(float), label * np.arange(9) % 3)
    with pytest.raises(ValueError, match=r"\[0, 1\].*255"):
        metric(label * 255, label)
    with pytest.raises(ValueError, match="2-D"):
        metric(np.zeros(5), np.zeros(5))


def test_other_errors_are_named():
    label = two_cells()
    with pytest.raises(ValueError, match="mode"):
        warping_error(label, label, mode="jain")
    with pytest.raises(ValueError, match="thresholds"):
        rand_error(label, label, thresholds=[1.5])
    with pytest.raises(ValueError, match="no cell pixel"):
        rand_error(label, np.zeros_like(label))
    with pytest.raises(ValueError, match="instance labeling"):
        match_instances(np.random.rand(8, 9), ndi.label(label)[0])


def test_stack_scores_use_one_threshold_for_all_slices():
    label = two_cells()
    weak_gap = np.where(label > 0, 0.8, 0.3).astype(np.float32)
    weak_gap[3, 4] = 0.45
    per_slice, stack = isbi_scores([weak_gap, label.astype(np.float32)], [label, label])
    assert per_slice[0]["warping_error"] == warping_error(weak_gap, label) == 0
    assert per_slice[0]["rand_error"] == pytest.approx(rand_error(weak_gap, label))
    assert stack["warping_error"] == 0 and stack["warping_threshold"] == 0.5
    assert stack["pixel_error"] == pytest.approx(pixel_error(weak_gap, label) / 2)


def test_the_random_cases_need_later_passes(monkeypatch):
    """The cases above exercise passes 2, 3, ... (flips that only become simple later)."""
    import unet_course.metrics.warping as warping
    later, original = [], warping._later_passes

    def recording(src, *args):
        before = src.copy()
        original(src, *args)
        later.append(int((before != src).sum()))
    monkeypatch.setattr(warping, "_later_passes", recording)
    for seed in range(6):
        rng = np.random.default_rng(seed)
        label = blobs(rng, (30, 34), sigma=2.5)
        pred = np.clip(ndi.gaussian_filter(label.astype(float), 1.5) + 0.35 * ndi.gaussian_filter(
            rng.normal(size=label.shape), 1.0), 0, 1).astype(np.float32)
        for th in (0.0, 0.5, 0.8999999999999999):
            warp_label(pred, label, th)
    assert sum(later) > 0


def test_a_speck_inside_a_matched_cell_is_not_a_split():
    truth = ndi.label(two_cells())[0]
    pred = truth.copy()
    pred[1:4, 1:3] = 0
    pred[2, 1] = 5                          # a one-pixel predicted cell inside true cell 1
    m = match_instances(pred, truth)
    assert m.split == 0 and m.matched == 2
