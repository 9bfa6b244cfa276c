"""tests/leaks/scan.py catches each kind of secret, planted in log-like lines, and lets
clean lines (the shapes real logs are full of) through."""
import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan  # noqa: E402

PLANTED = {
    "stripe_key": ['{"msg":"config","key":"sk_test_paybridge_integration"}',
                   "key sk_live_51HxyzABCDEF0123456789 in use",
                   "restricted rk_test_abcdef123456"],
    "webhook_secret": ["secrets=whsec_test_0123456789abcdef01234567",
                       '"secret":"whsec_cluster_secret_for_the_local_emulator"'],
    "authorization": ['"authorization":"Bearer test-jwt-secret-0011223344"',
                      "Authorization: Basic c2tfdGVzdF94eXo6cGFzcw=="],
    "jwt": ["token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsImV4cCI6MTc2NH0."
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"],
    "password": ['{"password":"correct horse battery staple"}',
                 "currentPassword=not the password&newPassword=a brand new one!",
                 "login with Wrong Password, Again"],
    "card_number": ["card 4242424242424242 used", "pan=4000 0566 5566 5556",
                    "amex 3782-822463-10005", '"number":"5555555555554444"'],
}

CLEAN = [
    '{"ts":"2026-12-04T18:55:53.252550Z","level":"info","role":"worker","pid":8070,'
    '"request_id":"d7c95aa110405e68e52b86e27175fa82","msg":"request","duration_us":5578}',
    '"authorization": "Bearer sk_test_…"',
    "Authorization: Bearer (redacted)",
    "created 1764874553 wall 1764874553.252550 took 1234567890123 ns",
    "id cus_J1031jBkzZmVpe pi_0Li6WqOQIyQ2FezEp1r46sNN evt_nZg9e3zODeDeOWjiotBoXnRF",
    "number 4242424242424241 fails the check",
    "password is required; the password was wrong",
    "whsec_ and sk_test_ name prefixes only",
    "eyJ is how a JWT starts",
    "hex 0a1b2c3d4242424242424242ff inside an id",
    # Luhn-valid, but an epoch in milliseconds and one in microseconds, and Galera's
    # zero UUID.
    "at 1764874553258 ms", '"started_us":1764874553252554',
    "Cert index reset to 00000000-0000-0000-0000-000000000000:-1",
    "uuid 42424242-4242-4242-4242-424242424242",
]


def quiet_main(paths):
    """scan.main without its report, whose summary line script/test would count."""
    with contextlib.redirect_stdout(io.StringIO()):
        return scan.main(paths)


class ScanTest(unittest.TestCase):
    def test_each_kind_caught(self):
        for kind, lines in PLANTED.items():
            for line in lines:
                with self.subTest(kind=kind, line=line):
                    self.assertIn(kind, [k for k, _ in scan.findings(line)])

    def test_clean_lines_pass(self):
        for line in CLEAN:
            with self.subTest(line=line):
                self.assertEqual(scan.findings(line), [])

    def test_luhn(self):
        self.assertTrue(scan.luhn("4242424242424242"))
        self.assertFalse(scan.luhn("4242424242424241"))

    def test_files(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(d + "/stacks/pbit.x/nginx")
            with open(d + "/unit.log", "w") as f:
                f.write("\n".join(CLEAN) + "\n")
            with open(d + "/stacks/pbit.x/nginx/error.log", "w") as f:
                f.write("ok\n")
            self.assertEqual(quiet_main([d]), 0)
            with open(d + "/stacks/pbit.x/paybridge.log", "w") as f:
                f.write('{"msg":"oops","jwt":"' + PLANTED["jwt"][0][6:] + '"}\n')
            self.assertEqual(quiet_main([d]), 1)
            # Not a .log file: not a log.
            os.remove(d + "/stacks/pbit.x/paybridge.log")
            with open(d + "/stacks/pbit.x/password", "w") as f:
                f.write("correct horse battery staple\n")
            self.assertEqual(quiet_main([d]), 0)

    def test_no_logs_fails(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(quiet_main([d]), 1)

    def test_masked(self):
        self.assertNotIn("integration", scan.mask("sk_test_paybridge_integration"))


if __name__ == "__main__":
    unittest.main()
