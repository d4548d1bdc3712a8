"""What the services write, checked by the real tools: unbound-checkconf, openssl (no root)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nslab.services import ca, resolver


@pytest.mark.skipif(shutil.which("unbound-checkconf") is None, reason="unbound is not installed")
@pytest.mark.parametrize(("bind", "ipv6"), [("0.0.0.0", False), ("10.0.1.53", False), ("::", True)])
def test_unbound_accepts_the_generated_configuration(tmp_path: Path, bind: str, ipv6: bool) -> None:
    hints = tmp_path / "root.hints"
    hints.write_text(resolver.root_hints(["198.51.100.10", "2001:db8::53"]))
    conf = tmp_path / "unbound.conf"
    conf.write_text(resolver.unbound_conf(bind, 53, str(hints), str(tmp_path), ipv6, ["example.test", "."]))
    done = subprocess.run(["unbound-checkconf", str(conf)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    text = conf.read_text()
    assert 'local-zone: "example.test." nodefault' in text and 'local-zone: "test." nodefault' in text
    assert 'local-zone: "." nodefault' not in text
    assert "root-1.nslab.\t3600000\tA\t198.51.100.10" in hints.read_text()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_lab_ca_signs_a_server_certificate_for_names_and_addresses(tmp_path: Path) -> None:
    cert = ca.ensure_ca(str(tmp_path), "demo")
    assert ca.ensure_ca(str(tmp_path), "demo") == cert  # made once, then reused
    assert (tmp_path / "ca" / "ca.key").stat().st_mode & 0o077 == 0
    leaf, key = ca.issue(str(tmp_path), str(tmp_path / "web"), ["www.shop.test", "10.0.2.10", "localhost"])
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", cert, "-purpose", "sslserver", leaf], capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stderr
    text = subprocess.run(["openssl", "x509", "-in", leaf, "-noout", "-text"], capture_output=True, text=True)
    assert "DNS:www.shop.test, IP Address:10.0.2.10, DNS:localhost" in text.stdout
    assert "CA:FALSE" in text.stdout and "TLS Web Server Authentication" in text.stdout
    assert Path(key).stat().st_mode & 0o077 == 0
    other = ca.ensure_ca(str(tmp_path / "other"), "other")
    wrong = subprocess.run(["openssl", "verify", "-CAfile", other, leaf], capture_output=True, text=True)
    assert wrong.returncode != 0
