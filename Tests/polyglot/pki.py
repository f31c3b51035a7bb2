"""A throw-away PKI made with the openssl command, for the TLS checks and the handshake
measurement: a CA, a server certificate for localhost and 127.0.0.1, a client certificate signed
by the CA, and one signed by another CA. EC P-256 keys, valid for a day.
"""

import os
import subprocess

CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def openssl(directory, *arguments):
    subprocess.run(["openssl", *arguments], cwd=directory, check=True, capture_output=True)


def make_pki(directory, server_key=CURVE):
    """Writes ca.pem, server.pem/.key, client.pem/.key and stranger.pem/.key into directory.
    server_key: the openssl req key options of the server's key (e.g. ["-newkey", "rsa:2048",
    "-nodes"])."""
    for ca in ("ca", "other-ca"):
        openssl(
            directory, "req", "-x509", *CURVE, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "1",
            "-subj", f"/CN=Spectra test {ca}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )
    leaves = [
        ("server", "ca", server_key, "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
        ("client", "ca", CURVE, "extendedKeyUsage=clientAuth\n"),
        ("stranger", "other-ca", CURVE, "extendedKeyUsage=clientAuth\n"),
    ]
    for serial, (name, ca, key, extensions) in enumerate(leaves, start=2):
        with open(os.path.join(directory, f"{name}.ext"), "w") as f:
            f.write(extensions)
        openssl(directory, "req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=spectra-{name}")
        openssl(
            directory, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-set_serial", str(serial), "-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
        )
