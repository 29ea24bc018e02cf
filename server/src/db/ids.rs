//! Typed ids: the ids that are easy to swap travel through `db/` as newtypes, so a query taking
//! an account and a client cannot be called with them the other way round, nor with a client's
//! internal id where its OAuth `client_id` belongs (vaultwarden's `UserId`, `AuthRequestId`).
//! The rows keep them as text; the records (`Account`, `Client`, …) keep plain `Uuid`s, and
//! the domain wraps them where it calls a query.

use std::fmt;

use uuid::Uuid;

/// An account's id (UUID v7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountId(pub Uuid);

/// A client's internal id (UUID v7): its primary key, the `{id}` of `/clients/{id}`, and what
/// `client_secrets.client_id`, consents and authorization requests hold. Not its OAuth
/// `client_id`: that is [`ClientId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientUuid(pub Uuid);

/// A group's id (UUID v7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupId(pub Uuid);

/// A client's public OAuth `client_id`: what it presents at the token endpoint and what access
/// tokens name. Not its internal id: that is [`ClientUuid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId<'a>(pub &'a str);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for ClientUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
