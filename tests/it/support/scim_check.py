"""Runs scim2-tester (an independent SCIM 2.0 compliance checker) against a Gatehouse SCIM
endpoint: python3 scim_check.py <base URL, …/scim/v2/{ns}> <Bearer token>.

Prints one line per check that did not pass and a summary line
`scim2-tester: <n> checks: SUCCESS=… SKIPPED=… ERROR=…`; exits 1 when any check is an ERROR or
CRITICAL."""

import collections
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base, token = sys.argv[1], sys.argv[2]
client = SyncSCIMClient(Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60))
results = check_server(client)
counts = collections.Counter(r.status.name for r in results)
failed = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
for r in results:
    if r.status not in (Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE):
        print(f"{r.status.name}: {r.resource_type or '-'} {r.title}: {r.reason}")
summary = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
print(f"scim2-tester: {len(results)} checks: {summary}")
sys.exit(1 if failed or not results else 0)
