"""`strongroom agent` renders a certificate from our pki engine with consul-template's `pkiCert`."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from tests.agent.conftest import Agent, agent_world, read
from tests.servers import RunningServer


def test_pki_cert_template_renders_a_certificate(
    server: RunningServer, tmp_path: Path, run_agent: Agent
) -> None:
    mount = f"pki-agent-{tmp_path.name[-8:]}".replace("_", "-")
    rules = f'path "{mount}/issue/web" {{ capabilities = ["update"] }}\n'
    with server.client() as root:
        root.post(f"/v1/sys/mounts/{mount}", json={"type": "pki"}).raise_for_status()
        try:
            ca_pem = root.post(
                f"/v1/{mount}/root/generate/internal",
                json={"common_name": "example.com", "key_type": "ec", "ttl": "240h"},
            ).json()["data"]["certificate"]
            root.post(
                f"/v1/{mount}/roles/web",
                json={"allowed_domains": "example.com", "allow_subdomains": True, "key_type": "ec"},
            ).raise_for_status()
            with agent_world(server, tmp_path, events=False, rules=rules) as setup:
                destination = setup.dir / "cert.pem"
                key_destination = setup.dir / "key.pem"
                config = setup.approle_config(
                    f'template {{\n  destination = "{destination}"\n  contents = <<EOT\n'
                    f'{{{{ with pkiCert "{mount}/issue/web" "common_name=a.example.com" "ttl=1h" }}}}'
                    "{{ .Cert }}{{ end }}\nEOT\n}\n"
                    f'template {{\n  destination = "{key_destination}"\n  contents = <<EOT\n'
                    f'{{{{ with secret "{mount}/issue/web" "common_name=b.example.com" "ttl=1h" }}}}'
                    "{{ .Data.private_key }}{{ end }}\nEOT\n}\n"
                    "exit_after_auth = true\n"
                )
                process = run_agent(config)
                assert process.wait(timeout=30) == 0, read(setup.dir / "agent.log")
                leaf = x509.load_pem_x509_certificate(read(destination).encode())
                leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem.encode()))
                names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                assert names.get_values_for_type(x509.DNSName) == ["a.example.com"]
                assert read(key_destination).startswith("-----BEGIN EC PRIVATE KEY-----\n")
        finally:
            root.delete(f"/v1/sys/mounts/{mount}").raise_for_status()
