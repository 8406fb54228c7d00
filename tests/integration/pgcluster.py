"""A throwaway PostgreSQL cluster (Debian's postgresql package) for tests and benches.

initdb and postgres refuse to run as root, so as root the cluster runs as an
unprivileged user (nobody) through runuser; otherwise as the caller. It lives
in its own temp dir, listens only on a Unix socket there (no TCP port), and
stop() shuts it down and removes everything.
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from suite import wait_for


def bindir():
    """The newest /usr/lib/postgresql/N/bin with initdb, or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                  key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(dirs[-1]) if dirs else None


class PgCluster:
    USER = "nobody"

    def __init__(self):
        self.bin = bindir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
        self.root = tempfile.mkdtemp(prefix="ankicollab-pg-")
        self.data = os.path.join(self.root, "data")
        self.sock = os.path.join(self.root, "sock")
        self.log = os.path.join(self.root, "postgres.log")
        self.port = 5432  # only names the socket file: no TCP listener
        self.as_user = []
        os.mkdir(self.sock)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.USER)
            os.chmod(self.root, 0o755)
            for p in (self.sock,):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            open(self.log, "w").close()
            os.chown(self.log, pw.pw_uid, pw.pw_gid)
            os.mkdir(self.data, 0o700)
            os.chown(self.data, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", self.USER, "--"]
        self.started = False

    def run(self, *args, **kw):
        return subprocess.run([*self.as_user, *args], capture_output=True, text=True,
                              timeout=kw.pop("timeout", 120), cwd=self.root, **kw)

    def start(self):
        r = self.run(os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres",
                     "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stdout}{r.stderr}")
        opts = (f"-c listen_addresses='' -k {self.sock} -p {self.port} -c fsync=off "
                f"-c full_page_writes=off -c shared_buffers=16MB -c max_connections=20")
        r = self.run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log,
                     "-o", opts, "-w", "-t", "60", "start")
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {r.stdout}{r.stderr}\n{self.logs()}")
        self.started = True
        return self

    def logs(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def url(self, db="postgres"):
        return f"host={self.sock} port={self.port} user=postgres dbname={db}"

    def psql(self, sql, db="postgres", check=True, args=()):
        """Runs sql (several statements allowed); returns stdout (unaligned, tab-separated)."""
        r = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-At", "-F", "\t",
                            "-v", "ON_ERROR_STOP=1", *args, self.url(db)],
                           input=sql, capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError(f"psql failed: {r.stderr}")
        return r.stdout

    def createdb(self, name):
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def wait_lock(self, db, table):
        """Waits until some session holds an exclusive lock on table."""
        sql = ("SELECT count(*) FROM pg_locks WHERE granted AND mode = 'AccessExclusiveLock' "
               f"AND relation = '{table}'::regclass")
        wait_for(lambda: self.psql(sql, db).strip() == "1", 30, 0.05, f"lock on {table}")

    def stop(self):
        if self.started:
            self.run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast",
                     "-w", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)
