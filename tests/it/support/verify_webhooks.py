"""Verifies recorded log stream deliveries with the `standardwebhooks` package (an implementation
independent of Gatehouse's). Usage: verify_webhooks.py <deliveries.json> <whsec_ secret>, where
the file holds [{"headers": {...}, "body": "..."}]. Every delivery must verify, and the same
delivery with one byte of its body changed must not. Prints "verified N"."""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

deliveries = json.load(open(sys.argv[1]))
hook = Webhook(sys.argv[2])
for n, d in enumerate(deliveries):
    hook.verify(d["body"], d["headers"])
    tampered = d["body"].replace('"seq":', '"seq": ', 1)
    try:
        hook.verify(tampered, d["headers"])
    except WebhookVerificationError:
        pass
    else:
        sys.exit(f"delivery {n}: a tampered body verified")
print(f"verified {len(deliveries)}")
