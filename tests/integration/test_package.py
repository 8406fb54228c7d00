"""The Debian package: `make deb` builds ankicollab-lite_*.deb with dpkg-buildpackage; it
installs with `dpkg --root` into a scratch root (its maintainer scripts run with
DPKG_ROOT, as debhelper's snippets support) and leaves the files, the account, the data
dir, an enabled unit that `systemd-analyze verify` accepts and man pages that render
without warnings; reinstalling keeps the data and the admin's config; remove keeps data
and config; purge removes both.

dpkg --root needs root; the test is skipped otherwise."""
import glob
import gzip
import os
import re
import shutil
import sqlite3
import stat
import subprocess

import pytest

from suite import BUILD, ROOT, SANITIZED

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="dpkg --root installs need root"),
    pytest.mark.skipif(SANITIZED, reason="the package is built without sanitizers"),
]

MANPAGES = ["man5/ankicollab.conf.5.gz", "man8/ankicollabctl.8.gz",
            "man8/ankicollab-supervisor.8.gz", "man8/ankicollab-apid.8.gz",
            "man8/ankicollab-mediad.8.gz", "man8/ankicollab-gcd.8.gz"]
DAEMONS = ["ankicollab-supervisor", "ankicollab-apid", "ankicollab-mediad", "ankicollab-gcd"]
CONF = "etc/ankicollab/ankicollab.conf"
UNIT = "lib/systemd/system/ankicollab.service"
WANTS = "etc/systemd/system/multi-user.target.wants/ankicollab.service"


def run(*cmd, env=None, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="module")
def deb():
    """The .deb of this tree: `make deb` (a no-op when it is up to date)."""
    run("make", "-C", ROOT, "--no-print-directory", f"BUILD={BUILD}", "deb", timeout=1200)
    debs = glob.glob(os.path.join(BUILD, "deb", "ankicollab-lite_*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


def scratch_root(tmp_path):
    """An empty system as dpkg sees one: an admin dir and root's passwd/group entries."""
    r = tmp_path / "root"
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log", "etc"):
        (r / d).mkdir(parents=True)
    (r / "var/lib/dpkg/status").write_text("")
    (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (r / "etc/group").write_text("root:x:0:\n")
    return r


def dpkg(root, *args):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return run("dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
               *args, env=env)


def account(root, name):
    for line in (root / "etc/passwd").read_text().splitlines():
        f = line.split(":")
        if f[0] == name:
            return int(f[2]), int(f[3]), f[5], f[6]
    return None


def test_contents(deb):
    listing = run("dpkg-deb", "-c", deb).stdout
    entries = {}
    for line in listing.splitlines():
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        entries[path.removeprefix("./")] = (mode, owner)
    for d in DAEMONS:
        assert entries[f"usr/sbin/{d}"] == ("-rwxr-xr-x", "root/root")
    assert entries["usr/bin/ankicollabctl"] == ("-rwxr-xr-x", "root/root")
    for f in (UNIT, "usr/lib/sysusers.d/ankicollab.conf", "usr/lib/tmpfiles.d/ankicollab.conf",
              CONF):
        assert entries[f] == ("-rw-r--r--", "root/root"), f
    for m in MANPAGES:
        assert entries[f"usr/share/man/{m}"][0] == "-rw-r--r--"
    assert not [p for p in entries if p.startswith("var/lib/ankicollab")]
    ctl = run("dpkg-deb", "-f", deb, "Package", "Depends", "Section").stdout
    assert "Package: ankicollab-lite" in ctl
    assert re.search(r"libsqlite3-0 \(>= [^)]+\)", ctl) and "libevent-2.1-7" in ctl
    assert "systemd | systemd-standalone-sysusers | systemd-sysusers" in ctl
    conffiles = run("dpkg-deb", "--info", deb, "conffiles").stdout
    assert conffiles.split() == ["/" + CONF]


def test_install_upgrade_remove_purge(deb, tmp_path):
    root = scratch_root(tmp_path)
    out = dpkg(root, "-i", deb)
    assert "Setting up ankicollab-lite" in out.stdout, out.stdout

    # Files, the account made by systemd-sysusers, the data dir by systemd-tmpfiles.
    for d in DAEMONS:
        assert os.access(root / "usr/sbin" / d, os.X_OK)
    uid, gid, home, shell = account(root, "ankicollab")
    assert uid != 0 and home == "/var/lib/ankicollab" and shell == "/usr/sbin/nologin"
    st = os.stat(root / "var/lib/ankicollab")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (uid, gid, 0o750)
    st = os.stat(root / CONF)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, gid, 0o640)
    # Enabled through deb-systemd-helper, as dh_installsystemd arranges.
    assert os.readlink(root / WANTS) == "/" + UNIT
    unit = (root / UNIT).read_text()
    assert "ExecStart=/usr/sbin/ankicollab-supervisor -c /etc/ankicollab/ankicollab.conf" in unit

    # The installed programs run and accept the installed config.
    r = run(str(root / "usr/sbin/ankicollab-supervisor"), "-n", "-c", str(root / CONF))
    assert r.stdout == f"{root / CONF}: configuration OK\n"
    assert "backup DIR" in run(str(root / "usr/bin/ankicollabctl"), "--help").stderr

    # systemd-analyze verify: the unit as installed, its binaries at the root's paths,
    # its Documentation= man pages looked up in the root's man dir.
    chk = tmp_path / "verify"
    chk.mkdir()
    (chk / "ankicollab.service").write_text(unit.replace("/usr/sbin/", f"{root}/usr/sbin/"))
    r = run("systemd-analyze", "verify", str(chk / "ankicollab.service"),
            env=dict(os.environ, MANPATH=str(root / "usr/share/man")), check=False)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")

    # Each man page renders, without a warning, by man -l and groff -ww.
    for m in MANPAGES:
        page = root / "usr/share/man" / m
        r = run("man", "--warnings", "-l", "-Tutf8", str(page),
                env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8"))
        text = re.sub(".\b", "", r.stdout)  # no overstrike bold
        assert r.stderr == "" and "\nNAME\n" in text and "\nSEE ALSO\n" in text, m
        with gzip.open(page) as f:
            r = subprocess.run(["groff", "-mandoc", "-ww", "-z"], input=f.read(),
                               capture_output=True)
        assert (r.returncode, r.stderr) == (0, b""), m

    # Data and an edited config survive an upgrade (here: the same version again).
    conf = tmp_path / "ctl.conf"
    conf.write_text(f"data_dir = {root}/var/lib/ankicollab\nruntime_dir = {tmp_path}/run\n")
    run(str(root / "usr/bin/ankicollabctl"), "-c", str(conf), "user", "add", "alice",
        "--password-stdin", input="a long passphrase\n")
    with open(root / CONF, "a") as f:
        f.write("# edited by the admin\n")
    edited = (root / CONF).read_text()
    dpkg(root, "-i", deb)
    assert (root / CONF).read_text() == edited
    db = sqlite3.connect(root / "var/lib/ankicollab/ankicollab.db")
    assert db.execute("SELECT username FROM users").fetchall() == [("alice",)]
    db.close()

    # Remove: the programs go; data and config stay.
    dpkg(root, "-r", "ankicollab-lite")
    assert not (root / "usr/sbin/ankicollab-apid").exists()
    assert not (root / "usr/share/man/man8/ankicollabctl.8.gz").exists()
    assert (root / "var/lib/ankicollab/ankicollab.db").exists()
    assert (root / CONF).read_text() == edited

    # Purge: data and config go too; the account stays, as Debian keeps system users.
    dpkg(root, "-P", "ankicollab-lite")
    assert not (root / "var/lib/ankicollab").exists()
    assert not (root / "etc/ankicollab").exists()
    assert not os.path.lexists(root / WANTS)
    assert account(root, "ankicollab") is not None
    status = run("dpkg", f"--root={root}", "-s", "ankicollab-lite", check=False)
    assert status.returncode != 0
    shutil.rmtree(root)
