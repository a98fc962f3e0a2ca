"""unet_course.metrics: defining properties, hand-made cases with known answers, agreement
with scikit-image, and a sequential re-implementation of Fiji's warping loop."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage as ndi
from skimage.metrics import adapted_rand_error, contingency_table

from unet_course.metrics import (ISBI_THRESHOLDS, ISBI2012_TABLE, CELL_TRACKING_TABLE, SIMPLE_LUT,
                                 isbi_scores, misclassification_rate, seg_jaccards, seg_score,
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
    assert misclassification_rate(pred, label) == pytest.approx(4 / 14)
    assert pixel_error(pred, label) == pytest.approx(1 - 20 / 24)  # TP 10, FP 2, FN 2 columns
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
    assert misclassification_rate(pred, label) == pytest.approx(1 / label.size)
    assert pixel_error(pred, label) == pytest.approx(1 - 128 / 129)  # TP 64, FP 1: F = 128/129
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

@pytest.mark.parametrize("metric", [pixel_error, misclassification_rate, foreground_iou,
                                    rand_error, warping_error])
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
    with pytest.raises(ValueError, match=r"stack \(N, H, W\) of both"):
        pixel_error(np.stack([label, label]), label)
    with pytest.raises(ValueError, match="same, non-zero number"):
        misclassification_rate([label, label], [label])
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
    assert stack["misclassification_rate"] == pytest.approx(
        misclassification_rate(weak_gap, label) / 2)
    assert (stack["pixel_error"], stack["pixel_threshold"]) == pytest.approx(
        pixel_error(np.stack([weak_gap, label]), np.stack([label, label]), return_threshold=True))


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


# --- the ISBI pixel error against a loop-by-loop copy of Fiji's PixelError -----------------

def fiji_thresholds(lo=0.0, hi=0.9, step=0.1):
    """Fiji's ``for (th = lo; th <= hi; th += step)`` in double precision."""
    out, th = [], lo
    while th <= hi:
        out.append(th)
        th += step
    return out


def fiji_pixel_error(preds, labels, thresholds):
    """PixelError.getPrecisionRecallStats(th) per threshold (counts summed over the slices),
    ClassificationStatistics' F-score, getPrecisionRecallStats(min, max, step)'s best."""
    best_f, best_th = 0.0, thresholds[0]
    for th in thresholds:
        tp = fp = fn = tn = 0
        for pred, label in zip(preds, labels):
            # ImageJ's float pixels, compared with a double threshold
            for lab, prop in zip(np.ravel(label).tolist(),
                                 np.ravel(pred).astype(np.float32).tolist()):
                pix1 = 1 if lab > 0 else 0
                pix2 = 1 if prop > th else 0
                if pix2 == 1:
                    if pix1 == 1:
                        tp += 1
                    else:
                        fp += 1
                elif pix1 == 1:
                    fn += 1
                else:
                    tn += 1
        precision = 1.0 if fp == 0 else tp / (tp + fp)
        recall = 1.0 if fn == 0 else tp / (tp + fn)
        f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        if f > best_f:
            best_f, best_th = f, th
    return 1.0 - best_f, best_th


def soft_map(rng, label, blur=1.5, noise=0.25, scale=1.0, offset=0.0):
    p = ndi.gaussian_filter(label.astype(float), blur) + noise * rng.normal(size=label.shape)
    return np.clip(scale * p + offset, 0, 1).astype(np.float32)


def test_the_isbi_thresholds_are_fijis_loop():
    assert ISBI_THRESHOLDS == tuple(fiji_thresholds())


@pytest.mark.parametrize("seed", range(4))
def test_pixel_error_equals_fijis_on_soft_maps(seed):
    rng = np.random.default_rng(seed)
    label = blobs(rng, (32, 36)).astype(np.uint8) * 255
    pred = soft_map(rng, label > 0)
    expected = fiji_pixel_error([pred], [label], fiji_thresholds())
    assert pixel_error(pred, label, return_threshold=True) == pytest.approx(expected, abs=1e-12)


def test_pixel_error_on_a_biased_map_is_not_the_misclassification_rate():
    rng = np.random.default_rng(11)
    label = blobs(rng, (40, 40))
    pred = soft_map(rng, label, noise=0.1, scale=0.45, offset=0.02)  # cells at p ~ 0.45
    error, th = pixel_error(pred, label, return_threshold=True)
    assert (error, th) == pytest.approx(fiji_pixel_error([pred], [label], fiji_thresholds()))
    assert th != 0.5 and th < 0.4
    rate = misclassification_rate(pred, label)
    assert rate == pytest.approx(np.mean((pred > 0.5) != label))
    assert rate > 3 * error  # the old number (wrong pixels at 0.5) is far from the challenge's


def test_pixel_error_of_a_stack_sums_the_counts_with_one_threshold():
    rng = np.random.default_rng(5)
    labels = [blobs(rng, (24, 28)) for _ in range(3)]
    preds = [soft_map(rng, labels[0]), soft_map(rng, labels[1], scale=0.5),
             soft_map(rng, labels[2], offset=0.4)]               # each slice its own best
    expected = fiji_pixel_error(preds, labels, fiji_thresholds())
    assert pixel_error(np.stack(preds), np.stack(labels), return_threshold=True) == \
        pytest.approx(expected, abs=1e-12)
    assert pixel_error(preds, labels) == pytest.approx(expected[0], abs=1e-12)   # lists too
    per_slice = [pixel_error(p, t) for p, t in zip(preds, labels)]
    assert not np.isclose(np.mean(per_slice), expected[0])        # not a mean over slices
    per, stack = isbi_scores(preds, labels)
    assert (stack["pixel_error"], stack["pixel_threshold"]) == pytest.approx(expected)
    assert [s["pixel_error"] for s in per] == pytest.approx(per_slice)


def test_pixel_error_edge_cases_follow_fijis_conventions():
    empty = np.zeros((6, 7), np.uint8)
    low = np.full((6, 7), 0.35, np.float32)               # predicts no cell from 0.4 on
    high = np.full((6, 7), 0.95, np.float32)              # a cell everywhere, at every threshold
    for pred, label in ((low, empty), (high, empty), (high, empty + 255), (low, empty + 1)):
        assert pixel_error(pred, label, return_threshold=True) == pytest.approx(
            fiji_pixel_error([pred], [label], fiji_thresholds()))
    assert pixel_error(low, empty) == 0      # no cell in the label, none predicted: F = 1
    assert pixel_error(high, empty) == 1     # F = 0 at every threshold: error 1, first threshold
    assert pixel_error(high, empty, return_threshold=True)[1] == 0.0
    # float32(0.3) lies above Fiji's threshold 0.30000000000000004 (compared in double)
    edge = np.where(two_cells() > 0, 0.3, 0.0).astype(np.float32)
    th = [ISBI_THRESHOLDS[3]]
    assert pixel_error(edge, two_cells(), thresholds=th) == 0
    assert fiji_pixel_error([edge], [two_cells()], th)[0] == 0
    assert rand_error(edge, two_cells(), thresholds=th) == 0
    assert warping_error(edge, two_cells(), thresholds=th) == 0
    assert misclassification_rate(edge, two_cells(), threshold=th[0]) == 0


# --- instance matching is one-to-one ------------------------------------------------------

def test_a_cell_cut_into_equal_halves_matches_neither_half():
    truth, halves = np.array([[1, 1]]), np.array([[1, 2]])    # IoU exactly 0.5 with each
    m = match_instances(halves, truth)
    assert (m.matched, m.precision, m.recall, m.f1, m.split) == (0, 0, 0, 0, 1)
    merged = match_instances(truth, halves)                   # and the other way round
    assert (merged.matched, merged.precision, merged.recall, merged.merged) == (0, 0, 0, 2)


@settings(max_examples=60, deadline=None)
@given(pred=arrays(np.int32, (5, 6), elements=st.integers(0, 4)),
       true=arrays(np.int32, (5, 6), elements=st.integers(0, 4)))
def test_matching_never_counts_a_cell_twice(pred, true):
    m = match_instances(pred, true)
    assert m.precision <= 1 and m.recall <= 1 and m.f1 <= 1
    assert m.matched <= min(m.predicted, m.true)
    assert m.split + m.matched <= m.true and m.merged <= m.true


# --- SEG, the cell tracking challenge's score, on real nuclei --------------------------------

def nuclei():
    """Nuclei of scikit-image's immunohistochemistry image (shipped with the package): the
    haematoxylin channel, smoothed, its top 10 % of pixels, components of 40 pixels or more."""
    from skimage import color, data
    h = ndi.gaussian_filter(color.rgb2hed(data.immunohistochemistry())[..., 0], 1.5)
    found = ndi.label(h > np.percentile(h, 90))[0]
    sizes = np.bincount(found.ravel())
    keep = (sizes >= 40) & (np.arange(sizes.size) > 0)
    return np.where(keep[found], np.cumsum(keep)[found], 0).astype(np.int32)


def seg_by_hand(pred, true):
    """SEG as Ulman et al. 2017 state it, one reference cell at a time."""
    scores = []
    for r in range(1, true.max() + 1):
        cell = true == r
        if not cell.any():
            continue
        j = 0.0
        for s in np.unique(pred[cell]):
            inter = np.count_nonzero(cell & (pred == s))
            if s != 0 and inter > 0.5 * np.count_nonzero(cell):
                j = inter / np.count_nonzero(cell | (pred == s))
        scores.append(j)
    return float(np.mean(scores))


def test_seg_score_on_real_nuclei_grown_eroded_merged_and_split():
    from skimage.segmentation import expand_labels
    true = nuclei()
    assert true.max() > 50
    grown = expand_labels(true, 2)
    eroded = np.where(ndi.grey_erosion(true, size=3) == true, true, 0)
    merged = true.copy()
    a, b = 1, int(true[ndi.binary_dilation(true == 1, iterations=40) & (true > 1)][0])
    merged[merged == b] = a                                    # two nuclei, one id
    split = true.copy()
    big = int(np.argmax(np.bincount(true.ravel())[1:])) + 1
    ys, xs = np.nonzero(true == big)
    split[ys[ys > np.median(ys)], xs[ys > np.median(ys)]] = true.max() + 1   # cut in halves
    assert seg_score(true, true) == 1
    for pred in (grown, eroded, merged, split):
        assert seg_score(pred, true) == pytest.approx(seg_by_hand(pred, true), abs=1e-12)
    assert seg_score(eroded, true) < seg_score(split, true) < 1
    j = seg_jaccards(merged, true)
    assert j.size == true.max() and min(j[a - 1], j[b - 1]) < 1    # the larger one may keep > 0.5
    assert seg_jaccards(split, true)[big - 1] == 0 or np.count_nonzero(split == big) > \
        0.5 * np.count_nonzero(true == big)
    assert np.isnan(seg_score(true, np.zeros_like(true)))


def test_seg_ignores_extra_predicted_cells_and_differs_from_pooled_iou():
    true = ndi.label(two_cells())[0]             # cells of 4 x 8 pixels, membrane column 4
    pred = true.copy()
    pred[:, 0] = 0                               # the first cell loses a quarter: J = 24 / 32
    pred[:, 4] = 3                               # a cell predicted on the membrane
    assert seg_score(pred, true) == pytest.approx((0.75 + 1) / 2)
    assert foreground_iou(pred > 0, true > 0) == pytest.approx(56 / 72)
    assert seg_score(pred, np.where(true == 1, 0, true)) == 1      # only annotated cells count
    pred[:, 1] = 0                               # exactly half left: not more than half, J = 0
    assert seg_score(pred, true) == pytest.approx(0.5)


def test_merges_and_splits_names_the_cells_match_instances_counts():
    from unet_course.metrics import match_instances, merges_and_splits
    true = np.zeros((12, 30), np.int32)
    true[1:5, 1:5], true[1:5, 6:10] = 1, 2          # two touching cells ...
    true[6:11, 12:28] = 3                            # ... and one long cell
    pred = np.zeros_like(true)
    pred[1:5, 1:10] = 7                              # merges 1 and 2
    pred[6:11, 12:19], pred[6:11, 21:28] = 8, 9      # splits 3 in two
    pred[2, 2] = 0
    found = merges_and_splits(pred, true)
    assert found.merged_pred.tolist() == [7] and found.merged_true.tolist() == [1, 2]
    assert found.split_true.tolist() == [3]
    m = match_instances(pred, true)
    assert (m.merged, m.split) == (len(found.merged_true), len(found.split_true)) == (2, 1)
    speck = true.copy()
    speck[7, 14] = 5                                 # a speck inside a matched cell: no split
    assert merges_and_splits(speck, true).split_true.size == 0
