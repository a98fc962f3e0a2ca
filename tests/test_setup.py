"""The set-up files agree with each other and with the README."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(path):
    lines = [l.split("#")[0].strip() for l in path.read_text().splitlines()]
    return dict(l.split("==") for l in lines if "==" in l)


def test_environment_yml_has_the_same_pins_as_requirements():
    env = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"\s*-\s*([\w.-]+)==([\w.]+)(\+cpu)?\s*$", line)
        if m:
            env[m.group(1)] = m.group(2)
    assert env == _pins(ROOT / "requirements.txt")


def test_every_dependency_is_pinned():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~ ]", d)[0].lower() for d in deps}
    pinned = {n.lower() for n in _pins(ROOT / "requirements.txt")}
    assert names <= pinned, f"not pinned in requirements.txt: {names - pinned}"
    assert _pins(ROOT / "requirements.txt")["torch"] == "2.13.0"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)


def test_every_subpackage_is_packaged():
    """A non-editable install (Colab's pip install git+...) must include unet_course.checks."""
    from setuptools import find_packages
    found = set(find_packages(str(ROOT), include=["unet_course*"]))
    assert {"unet_course", "unet_course.checks"} <= found
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert conf["packages"]["find"]["include"] == ["unet_course*"]


def test_constraints_agree_with_the_pins():
    """constraints.txt (the full freeze) must not contradict requirements*.txt."""
    frozen = _pins(ROOT / "constraints.txt")
    for name, version in {**_pins(ROOT / "requirements.txt"), **_pins(ROOT / "requirements-dev.txt")}.items():
        assert frozen.get(name) == version, f"{name}: requirements say {version}, constraints {frozen.get(name)}"


def test_readme_and_pyproject_agree_on_the_python_version():
    """The README said Python >= 3.11 while pyproject said >= 3.9 (issue 12)."""
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    readme = (ROOT / "README.md").read_text()
    version = re.search(r"Python ≥ (3\.\d+)", readme).group(1)
    assert wanted == f">={version}", f"README says Python ≥ {version}, pyproject {wanted}"


def _normalised(pins: dict) -> dict:
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins.items()}


def test_site_and_browser_pins_are_exact_and_agree_with_constraints():
    """requirements-site.txt (make site) and requirements-browser.txt pin every package exactly,
    and where constraints.txt (installed with them) names a package, at the same version."""
    frozen = _normalised(_pins(ROOT / "constraints.txt"))
    for name in ("requirements-site.txt", "requirements-browser.txt"):
        lines = [l.split("#")[0].strip() for l in (ROOT / name).read_text().splitlines()]
        loose = [l for l in lines if l and not re.fullmatch(r"[\w.-]+==[\w.]+", l)]
        assert not loose, f"{name}: not an exact pin: {loose}"
        for package, version in _normalised(_pins(ROOT / name)).items():
            assert frozen.get(package, version) == version, \
                f"{name}: {package}=={version}, constraints.txt says {frozen[package]}"
    site = _normalised(_pins(ROOT / "requirements-site.txt"))
    assert {"sphinx", "myst-nb", "sphinx-book-theme", "jupyter-cache"} <= set(site)
