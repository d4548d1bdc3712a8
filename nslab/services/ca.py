"""The lab's certificate authority, made with the openssl command-line tool.

Each lab gets its own CA (an EC P-256 key) in /run/nslab/<lab>/ca/: ca.crt is what lab
shells trust (through /etc/netns, see nslab.engine.etcfiles) and what graders verify against;
ca.key stays readable by root only. An https service gets a leaf certificate signed by it,
valid for its names and its node's addresses. Nothing here touches the host's trust store.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from nslab.engine import statefiles
from nslab.errors import EnvironmentProblem, KernelError

DAYS = "30"  # labs live for hours; a month leaves room for a lab left up over a holiday
CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = {san}
"""


def ca_dir(lab_dir: str) -> str:
    return os.path.join(lab_dir, "ca")


def ca_cert(lab_dir: str) -> str:
    return os.path.join(ca_dir(lab_dir), "ca.crt")


def _openssl(args: list[str], san: str = "DNS:unused") -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise EnvironmentProblem(
            "https services need the openssl command to make the lab's certificates",
            "install it: apt-get install openssl",
        )
    with tempfile.NamedTemporaryFile("w", suffix=".cnf", prefix="nslab-openssl-") as cnf:
        cnf.write(_CONFIG.format(san=san))
        cnf.flush()
        done = subprocess.run(
            [binary, "req", "-config", cnf.name, *args], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        raise KernelError(f"openssl could not make a certificate: {done.stderr.strip()[-300:]}")


def ensure_ca(lab_dir: str, lab: str) -> str:
    """Create the lab CA once; later calls (a restarted https service) reuse it."""
    cert = ca_cert(lab_dir)
    if os.path.exists(cert):
        return cert
    directory = ca_dir(lab_dir)
    statefiles.make_dirs(directory)  # 0700: it holds the CA key
    key = os.path.join(directory, "ca.key")
    tmp_cert = cert + ".tmp"
    subject = ["-subj", f"/O=nslab/CN=nslab lab CA {lab}", "-extensions", "ca"]
    with statefiles.owner_only_umask():  # the key file is created readable by root only
        _openssl(["-x509", *CURVE, "-keyout", key, "-out", tmp_cert, "-days", DAYS, *subject])
    os.chmod(tmp_cert, 0o644)  # copied into each node's trust store, read there by any user
    os.replace(tmp_cert, cert)  # the certificate appears last: its presence means the CA is whole
    return cert


def subject_alt_names(names: list[str]) -> str:
    from nslab.services.names import is_ip

    seen: list[str] = []
    for name in names:
        entry = f"IP:{name}" if is_ip(name) else f"DNS:{name}"
        if entry not in seen:
            seen.append(entry)
    return ",".join(seen)


def issue(lab_dir: str, directory: str, names: list[str]) -> tuple[str, str]:
    """A fresh key and certificate for `names` (host names or IP addresses), signed by the
    lab CA. Returns (certificate path, key path)."""
    statefiles.make_dirs(directory)
    cert, key = os.path.join(directory, "server.crt"), os.path.join(directory, "server.key")
    ca_key = os.path.join(ca_dir(lab_dir), "ca.key")
    first = next((n for n in names if n), "nslab")
    signer = ["-CA", ca_cert(lab_dir), "-CAkey", ca_key, "-extensions", "leaf"]
    subject = ["-subj", f"/CN={first}"]
    with statefiles.owner_only_umask():  # a server's key: root only, whatever the caller's umask
        _openssl(
            ["-x509", *CURVE, "-keyout", key, "-out", cert, "-days", DAYS, *subject, *signer],
            san=subject_alt_names(names),
        )
    return cert, key
