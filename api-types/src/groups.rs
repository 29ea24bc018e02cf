//! Groups: named sets of accounts of any namespace that carry grants, and where an account's
//! grants come from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use validator::Validate;

use crate::checks;
use crate::de::{nullable, present};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A group of a namespace. Its members hold its grants (`…/groups/{id}/permissions`) beside
/// their own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Group {
    pub id: Uuid,
    pub namespace: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GroupCreate {
    /// Unique in the namespace.
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "checks::plain_text")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub name: String,
    /// Absent or `null`: no description.
    #[serde(default)]
    #[validate(
        length(max = 1000, message = "must be at most 1000 characters"),
        custom(function = "checks::plain_text")
    )]
    #[cfg_attr(feature = "openapi", schema(max_length = 1000, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub description: Option<String>,
}

/// JSON merge patch of a group; `"description": null` clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    /// A group always has a name: `null` is refused.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "checks::plain_text")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$", nullable = false)
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(
        length(max = 1000, message = "must be at most 1000 characters"),
        custom(function = "checks::plain_text")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, max_length = 1000, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub description: Option<Option<String>>,
}

/// A member of a group. `username` is shown only to a caller that may read the accounts of the
/// member's namespace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GroupMember {
    pub account_id: Uuid,
    pub namespace: String,
    pub username: Option<String>,
    pub added_at: DateTime<Utc>,
}

/// A group an account is a member of. `name` is shown only to a caller that may read the
/// group's namespace's accounts (`users:read@<its namespace>`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GroupMembership {
    pub group_id: Uuid,
    pub namespace: String,
    pub name: Option<String>,
}

/// Where a held grant comes from: the account's own grants (`"direct"`), or a group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(untagged)]
pub enum GrantVia {
    Direct(Direct),
    Group { group: Uuid, name: String },
}

/// The `"direct"` of [`GrantVia`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Direct {
    Direct,
}

/// One grant an account holds, and through what.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GrantSource {
    pub grant: String,
    pub via: GrantVia,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_say_direct_or_name_the_group() {
        let direct = GrantSource { grant: "users:read@shop".into(), via: GrantVia::Direct(Direct::Direct) };
        assert_eq!(
            serde_json::to_value(&direct).unwrap(),
            serde_json::json!({"grant": "users:read@shop", "via": "direct"})
        );
        let id = Uuid::nil();
        let group =
            GrantSource { grant: "users:read@shop".into(), via: GrantVia::Group { group: id, name: "ops".into() } };
        let json = serde_json::to_value(&group).unwrap();
        assert_eq!(json["via"], serde_json::json!({"group": id, "name": "ops"}));
        assert_eq!(serde_json::from_value::<GrantSource>(json).unwrap(), group);
    }

    #[test]
    fn a_patch_may_rename_a_group_but_not_unname_it() {
        let patch = |body: &str| serde_json::from_str::<GroupPatch>(body);
        assert_eq!(patch(r#"{"name": "ops"}"#).unwrap().name.as_deref(), Some("ops"));
        assert_eq!(patch("{}").unwrap().name, None);
        let refused = patch(r#"{"name": null}"#).unwrap_err().to_string();
        assert!(refused.contains("null"), "{refused}");
        assert_eq!(patch(r#"{"description": null}"#).unwrap().description, Some(None));
    }
}
