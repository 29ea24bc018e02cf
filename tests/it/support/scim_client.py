"""Provisions through Gatehouse's SCIM endpoint with scim2-client (an independent SCIM client
that validates every response against the schemas the server publishes), as a directory does:
python3 scim_client.py <base URL, …/scim/v2/{ns}> <Bearer token> <userName> <externalId>.

Creates a User (externalId, emails, enterprise department), finds it with
`userName eq "…"` (GET and POST .search), deactivates it with a PatchOp, creates a Group with it as a member, and
removes the member with `members[value eq "…"]`. Prints a JSON object of what it saw."""

import json
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import ListResponse, PatchOp, PatchOperation, SearchRequest

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

base, token, user_name, external_id = sys.argv[1:5]
client = SyncSCIMClient(Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60))
client.discover()
UserModel = client.get_resource_model("User")
GroupModel = client.get_resource_model("Group")

# The models are the ones the server's /Schemas describe (discovered above).
user = UserModel.model_validate({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    "userName": user_name,
    "externalId": external_id,
    "displayName": "Ada Lovelace",
    "emails": [{"value": f"{user_name}@example.com", "type": "work", "primary": True}],
    ENTERPRISE: {"department": "Engines"},
})
created = client.create(user)
assert created.id and created.meta.version, created

# Entra's GET lookup, and the same through POST /Users/.search.
for found in (
    client.query(UserModel, query_parameters={"filter": f'userName eq "{user_name}"'}),
    client.search(UserModel, search_request=SearchRequest(filter=f'userName eq "{user_name}"')),
):
    assert isinstance(found, ListResponse) and found.total_results == 1, found
    assert found.resources[0].id == created.id and found.resources[0].external_id == external_id

deactivated = client.modify(
    UserModel, created.id,
    PatchOp[UserModel](operations=[PatchOperation(op=PatchOperation.Op.replace_, path="active", value=False)]),
)
assert deactivated is None or deactivated.active is False, deactivated

group = client.create(GroupModel.model_validate({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": f"{user_name}-team",
    "members": [{"value": created.id}],
}))
assert [m.value for m in group.members] == [created.id], group
client.modify(
    GroupModel, group.id,
    PatchOp[GroupModel](operations=[
        PatchOperation(op=PatchOperation.Op.remove, path=f'members[value eq "{created.id}"]'),
    ]),
)
after = client.query(GroupModel, group.id)
print(json.dumps({
    "user_id": created.id,
    "group_id": group.id,
    "department": created.model_dump()[ENTERPRISE]["department"],
    "active_after_patch": client.query(UserModel, created.id).active,
    "members_after_patch": [m.value for m in (after.members or [])],
}))
