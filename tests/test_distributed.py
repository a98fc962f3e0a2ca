"""Two gloo ranks with drop-out on, a --minutes budget and an lr drop (issue 23): every decision
that depends on time (lr drop, stop, validation, checkpoint) is agreed, so both ranks stop at
the same step with bitwise identical weights; each rank draws its own drop-out masks; the
logged loss is the mean over ranks; the checkpoint keeps every rank's random stream. With
batch norm (the cpu preset's default) the running statistics differ between ranks and the
model file holds rank 0's; SyncBatchNorm is not an option on the CPU (it raises)."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from unet_course.train import distributed

ROOT = Path(__file__).resolve().parents[1]

# Each rank trains, records its first drop-out mask and its own losses, saves what it ended with.
RANK_SCRIPT = '''
import sys
from pathlib import Path
import torch
from unet_course.train import distributed, loop, make_config, train

masks, local = [], []


def first_mask(module, args, output):  # (input != 0, output != 0): kept where input != 0
    if isinstance(module, torch.nn.Dropout) and module.training and not masks:
        masks.append(torch.stack([args[0] != 0, output != 0]))


def recorded(*args, **kwargs):  # this rank's own loss, before the ranks agree on the mean
    loss = real_step(*args, **kwargs)
    local.append(float(loss))
    return loss


torch.nn.modules.module.register_module_forward_hook(first_mask)
real_step, loop.train_step = loop.train_step, recorded
out = Path(sys.argv[1])
# validation at every step on rank 0 only: the other rank's clock would count rank 0's
# validations (it waits for them in the next step) if the ranks did not agree on the time
cfg = make_config("cpu", minutes=0.03, lr_drop=0.5, dropout=0.5, val_every=1,
                  checkpoint_every=10 ** 6, base_channels=4, tile=188, batch=1, train_images=2,
                  val_images=1, image_size=64, threads=1, device="cpu", amp=False)
run = train(cfg, out=out / "run", progress=False)
rank = torch.distributed.get_rank()
torch.save({"steps": run.steps, "seconds": run.seconds, "state": run.model.state_dict(),
            "mask": masks[0], "local": local}, out / f"rank{rank}.pt")
distributed.cleanup()
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_ranks_with_dropout_and_minutes_agree_on_every_decision(tmp_path):
    """The two ranks get the environment torchrun gives them (without its launcher's start-up
    time; test_train.py runs the real torchrun)."""
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "WORLD_SIZE": "2",
           "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}
    ranks = [subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=ROOT,
                              env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in (0, 1)]
    for rank in ranks:
        _, err = rank.communicate(timeout=300)
        assert rank.returncode == 0, err[-3000:]
    a, b = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert a["steps"] == b["steps"] >= 4 and a["seconds"] == b["seconds"] >= 0.03 * 60
    # batch norm (the cpu preset's default): what distributed.py's docstring says holds
    running = [k for k in a["state"] if "running_" in k]
    assert any("running_mean" in k for k in running)
    for k in a["state"]:  # gradients averaged: no silent drift of the weights, BN's included
        if k not in running:
            assert torch.equal(a["state"][k], b["state"][k]), k
    # the running statistics differ between ranks (each rank's last forward updated its copy
    # from its own tiles after DDP broadcast rank 0's) ...
    assert any(not torch.equal(a["state"][k], b["state"][k]) for k in running)
    # ... and the model file, written by rank 0, holds rank 0's
    from unet_course.checkpoint import load_model
    saved_model = load_model(tmp_path / "run" / "model.pt").state_dict()
    for k in running:
        assert torch.equal(saved_model[k], a["state"][k]), k
    both = a["mask"][0] & b["mask"][0]        # units active on both ranks: kept or dropped?
    assert both.sum() > 100 and not torch.equal(a["mask"][1][both], b["mask"][1][both])
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[1:]
    rows = [dict(zip(("step", "loss", "lr", "val_iou"), r.split(","))) for r in rows]
    lrs = sorted({float(r["lr"]) for r in rows})                   # the cpu preset's lr, dropped
    assert len(rows) == a["steps"] and lrs == pytest.approx([2e-4, 2e-3])
    for row, mine, theirs in zip(rows, a["local"], b["local"]):
        assert float(row["loss"]) == pytest.approx((mine + theirs) / 2, rel=1e-6)
    assert rows[-1]["val_iou"] != ""                                   # the last step validated
    saved = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert len(saved["rng_ranks"]) == 2
    assert not torch.equal(saved["rng_ranks"][0]["torch"], saved["rng_ranks"][1]["torch"])


def test_rank_zero_keeps_the_seed_and_other_ranks_get_their_own():
    assert distributed.rank_seed(7, 0) == 7                 # one process trains as before
    seeds = {distributed.rank_seed(7, r) for r in range(1, 8)} | {7}
    assert len(seeds) == 8 and all(0 <= s < 2 ** 63 for s in seeds)
    assert distributed.rank_seed(7, 1) != distributed.rank_seed(8, 1)


def test_each_rank_resumes_its_own_random_stream(tmp_path):
    from unet_course.model import UNet
    from unet_course.train import TrainConfig
    from unet_course.train.state import load_state, read_state, rng_state, save_state
    model = UNet(base_channels=4)
    optimizer = torch.optim.Adam(model.parameters())
    streams = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        streams.append(rng_state())
    save_state(tmp_path / "c.pt", model, optimizer, None, 3, 1.0, TrainConfig(), 2,
               rng_ranks=streams)
    saved = read_state(tmp_path / "c.pt")
    for rank in (1, 0):
        torch.manual_seed(99)
        load_state(saved, model, optimizer, None, rank=rank)
        assert torch.equal(torch.get_rng_state(), streams[rank]["torch"])


def test_sync_batch_norm_raises_on_the_cpu_so_each_rank_normalises_by_its_own_tiles():
    """The reason distributed.py's docstring gives for not pooling batch statistics."""
    torch.distributed.init_process_group("gloo", store=torch.distributed.HashStore(), rank=0,
                                         world_size=1)
    try:
        with pytest.raises(ValueError, match="GPU"):
            torch.nn.SyncBatchNorm(3).train()(torch.randn(2, 3, 4, 4))
    finally:
        torch.distributed.destroy_process_group()
