"""Uses an installed softprobe wheel or sdist (scripts/package_test.sh):
imports it, checks its versions against VERSION, and makes one mocked
request with urllib under a strict replay session (api.example.invalid is
never resolved: the session answers). Exits non-zero on any difference."""
import sys
import urllib.request

import softprobe

expected = sys.argv[1]
assert softprobe.__version__ == expected, f"distribution version {softprobe.__version__} != VERSION {expected}"
assert softprobe.core_version == expected, f"core version {softprobe.core_version} != VERSION {expected}"
assert "site-packages" in softprobe.__file__, f"softprobe imported from {softprobe.__file__}, not the install"
# The core the extension runs: bundled in the install (wheel) or linked into it (sdist), never a build tree's.
with open("/proc/self/maps") as maps:
    libs = {line.split()[-1] for line in maps if "libsoftprobe" in line and "/" in line}
outside = [p for p in libs if "site-packages" not in p]
assert not outside, f"libsoftprobe loaded from outside the install: {outside}"

with softprobe.start_session("replay", policy={"externalHttp": "strict"}) as s:
    s.mock_outbound(method="GET", host="api.example.invalid", path="/v1/items",
                    response={"status": 200, "headers": {"content-type": "application/json"}, "body": '{"items":[1]}'})
    with urllib.request.urlopen("http://api.example.invalid/v1/items") as r:
        body = r.read().decode()
        assert r.status == 200 and body == '{"items":[1]}', (r.status, body)
print(f"python: softprobe {softprobe.__version__} from {softprobe.__file__}: mocked GET answered {body}")
