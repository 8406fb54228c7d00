"""contrib/addon/point-addon.sh on a fake add-on folder laid out like an installed
AnkiCollab add-on (addons21/1957538407 with var_defs.py holding API_BASE_URL, which
api_client.py imports): it points the add-on at a server, keeps the original, undoes
that on request, is idempotent both ways, survives an add-on update, and refuses bad
input without touching anything."""
import importlib.util
import os
import subprocess

import pytest

from suite import ROOT

SCRIPT = os.path.join(ROOT, "contrib", "addon", "point-addon.sh")
UPSTREAM = "https://plugin.ankicollab.com"
VAR_DEFS = f'''# constants of the add-on

API_BASE_URL = "{UPSTREAM}"
VERSION = "2026.05.27.1"
DEFAULT_PROTECTED_TAGS = ["leech", "marked"]
'''


def make_addon(base):
    d = base / "Anki2" / "addons21" / "1957538407"
    (d / "__pycache__").mkdir(parents=True)
    (d / "var_defs.py").write_text(VAR_DEFS)
    (d / "__init__.py").write_text("from . import api_client\n")
    (d / "api_client.py").write_text("from .var_defs import API_BASE_URL\n\n"
                                     "def url(endpoint):\n    return API_BASE_URL + endpoint\n")
    (d / "meta.json").write_text('{"name": "AnkiCollab", "mod": 1748304000}\n')
    (d / "__pycache__" / "var_defs.cpython-311.pyc").write_bytes(b"\x00stale")
    return d


def run(*args, env=None):
    return subprocess.run(["sh", SCRIPT, *args], capture_output=True, text=True,
                          env=env or dict(os.environ))


def base_url(d):
    """API_BASE_URL as Python (and so the add-on) reads it."""
    spec = importlib.util.spec_from_file_location("var_defs", d / "var_defs.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    assert m.VERSION and m.DEFAULT_PROTECTED_TAGS  # the rest of the file is intact
    return m.API_BASE_URL


@pytest.fixture
def addon(tmp_path):
    return make_addon(tmp_path)


def test_point_and_undo(addon):
    r = run("-d", str(addon), "https://anki.example.org/")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f"{addon}: API_BASE_URL = https://anki.example.org "
                        "(the original is kept in var_defs.py.ankicollab-lite-orig)\n")
    assert base_url(addon) == "https://anki.example.org"
    assert (addon / "var_defs.py.ankicollab-lite-orig").read_text() == VAR_DEFS
    assert not (addon / "__pycache__" / "var_defs.cpython-311.pyc").exists()
    pointed = (addon / "var_defs.py").read_text()
    assert [ln for ln in pointed.splitlines() if "API_BASE_URL" not in ln] == \
        [ln for ln in VAR_DEFS.splitlines() if "API_BASE_URL" not in ln]

    # Idempotent: the same again changes nothing; another address replaces it.
    assert run("-d", str(addon), "https://anki.example.org").returncode == 0
    assert (addon / "var_defs.py").read_text() == pointed
    assert run("-d", str(addon), "http://192.168.1.20:5555").returncode == 0
    assert base_url(addon) == "http://192.168.1.20:5555"
    assert (addon / "var_defs.py.ankicollab-lite-orig").read_text() == VAR_DEFS
    assert run("-d", str(addon), "--show").stdout == "http://192.168.1.20:5555\n"

    r = run("-d", str(addon), "--undo")
    assert r.returncode == 0 and r.stdout == f"{addon}: API_BASE_URL = {UPSTREAM} (restored)\n"
    assert (addon / "var_defs.py").read_text() == VAR_DEFS
    assert sorted(os.listdir(addon)) == ["__init__.py", "__pycache__", "api_client.py",
                                         "meta.json", "var_defs.py"]
    r = run("-d", str(addon), "--undo")
    assert r.returncode == 0 and "nothing to undo" in r.stdout
    assert (addon / "var_defs.py").read_text() == VAR_DEFS


def test_after_an_addon_update(addon):
    assert run("-d", str(addon), "https://anki.example.org").returncode == 0
    updated = VAR_DEFS.replace("2026.05.27.1", "2026.09.23.1")
    (addon / "var_defs.py").write_text(updated)  # AnkiWeb replaced the folder's files
    assert run("-d", str(addon), "https://anki.example.org").returncode == 0
    assert base_url(addon) == "https://anki.example.org"
    assert "2026.09.23.1" in (addon / "var_defs.py").read_text()
    assert run("-d", str(addon), "--undo").returncode == 0
    assert (addon / "var_defs.py").read_text() == updated


def test_default_folder(tmp_path, addon):
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path))
    r = run("https://anki.example.org", env=env)
    assert r.returncode == 0, r.stderr
    assert base_url(addon) == "https://anki.example.org"
    env["XDG_DATA_HOME"] = str(tmp_path / "elsewhere")
    r = run("--show", env=env)
    assert r.returncode == 1 and "no AnkiCollab add-on found" in r.stderr


@pytest.mark.parametrize("bad", ['https://x.org"; import os', "ftp://x.org",
                                 "javascript:alert(1)", "https://x.org/a\\b", "https://"])
def test_bad_url_refused(addon, bad):
    r = run("-d", str(addon), bad)
    assert r.returncode == 1 and "not an http(s) URL" in r.stderr
    assert (addon / "var_defs.py").read_text() == VAR_DEFS
    assert not (addon / "var_defs.py.ankicollab-lite-orig").exists()


def test_not_the_addon(tmp_path, addon):
    r = run("-d", str(tmp_path), "https://anki.example.org")
    assert r.returncode == 1 and "var_defs.py: not found" in r.stderr
    (addon / "var_defs.py").write_text("# a version that keeps its address elsewhere\n")
    r = run("-d", str(addon), "https://anki.example.org")
    assert r.returncode == 1 and "expected one API_BASE_URL line, found 0" in r.stderr
    assert run().returncode == 100
    assert run("-d", str(addon), "--undo", "https://x.org").returncode == 100
