"""The README is a newcomer's first two minutes (issue 34): short, no hardware jargon, and the
measurements on RESULTS.md, which it links."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
MAX_WORDS = 1500
# CPU models and instruction sets belong on RESULTS.md, never in the README.
HARDWARE = re.compile(r"xeon|epyc|\bintel\b|\bamd\b|\bavx|\bamx\b|onednn_max_cpu_isa|aten_cpu_capability",
                      re.IGNORECASE)


def test_readme_is_at_most_1500_words():
    words = len(README.split())
    assert words <= MAX_WORDS, f"README.md has {words} words, at most {MAX_WORDS}: move details to " \
                               "RESULTS.md, ARCHITECTURE.md or the lessons"


def test_readme_names_no_cpu_model_or_instruction_set():
    found = sorted({m.group(0) for m in HARDWARE.finditer(README)})
    assert not found, f"README.md names {found}: CPU models and instruction sets belong on RESULTS.md"


def test_hardware_pattern_catches_what_it_should():
    for text in ("an Intel Xeon", "AMD EPYC", "AVX2 only", "AVX-512", "AMX", "ONEDNN_MAX_CPU_ISA=AVX2",
                 "ATEN_CPU_CAPABILITY=avx2"):
        assert HARDWARE.search(text), text
    assert not HARDWARE.search("a laptop CPU; example; damaged; avocado")


def test_readme_links_the_results_page_and_names_the_commands():
    assert "](RESULTS.md)" in README
    assert (ROOT / "RESULTS.md").is_file()
    for command in ("make lab", "make test", "make train", "make setup"):
        assert f"`{command}" in README or f"{command} " in README, f"README does not name `{command}`"
