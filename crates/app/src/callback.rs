//! Callback in place, once for every door: a waiting call (or chat) becomes a callback that
//! keeps its place in line (`Command::CallbackInPlace`; the engine turns its channel into
//! `callback` and emits `callback_requested`, which the reports count as a promise).
//!
//! The doors (the signed hook's `call.callback_requested`, the agent console's and the
//! supervisor floor's `callback_in_place`, `POST /api/v1/contacts/{contact_id}/callback`) only
//! parse their input and call [`request_callback`]; each turns a [`CallbackError`] into its own
//! kind of answer with the same stable [`code`](CallbackError::code).
//!
//! The rules, the same through every door:
//! - only a **waiting call or chat** can become a callback (`not_waiting` while it rings at
//!   an agent or is being handled, `wrong_channel` for e-mails and tickets, which nobody waits
//!   on, `already_callback` the second time). A chat is the web widget's "call me instead":
//!   it keeps its place as a callback; with no PBX call behind it the agent dials the number
//!   the offer shows;
//! - the **number** is a dialable phone number: an optional leading `+`, then digits with
//!   spaces, `-`, `.`, `(` and `)` as separators, 3 to 20 digits. It is kept as the PBX dials
//!   it: `+` and digits only (`+1 (555) 010-0199` → `+15550100199`);
//! - the optional **due** (epoch ms) is the promised time: later than now and at most 7 days
//!   ahead;
//! - an **agent** may ask only for a waiting contact of a queue the engine has them serve
//!   (`QueueBackend::agent_queues`: `not_your_queue`), and not for one transferred to another
//!   agent (`not_yours`); supervisors and admins (floor, REST) for any waiting call; the PBX
//!   for its own calls.
//!
//! After the request the caller hangs up: the PBX reports `call.ended` (or a CTI `hangup`)
//! for the original call, and [`is_callback`] keeps that from abandoning the callback while
//! it waits or rings.

use std::time::Duration;

use switchboard_dispatch::{DispatchError, QueueBackend};
use switchboard_domain::{
    AgentId, Channel, Command, ContactId, ContactState, QueueId, Timestamp, ValidationError,
};
use switchboard_protocol::contacts::{CallbackPlaced, Stage};

/// How far ahead a callback may be promised.
pub const MAX_DUE_AHEAD: Duration = Duration::from_secs(7 * 24 * 3600);

/// Who asks for the callback (what they may ask for differs; see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The caller, in the IVR, reported by the PBX of this integration.
    Pbx { integration: String },
    /// An agent on their console.
    Agent(AgentId),
    /// A supervisor or admin on the floor socket.
    Supervisor,
    /// A signed-in supervisor or admin through REST (a web form, a chat page), or an API
    /// key (`username` is then `key:<name>`).
    Api { username: String },
}

/// The callback as it stands once requested.
#[derive(Clone, Debug, PartialEq)]
pub struct Callback {
    pub contact: ContactId,
    pub queue: QueueId,
    /// As the PBX will dial it (`+` and digits).
    pub number: String,
    pub due: Option<Timestamp>,
    /// 1 = next in line (the place the call had).
    pub position: Option<u32>,
    pub estimated_wait: Option<Duration>,
}

impl Callback {
    /// What the REST route and the hook answer with.
    pub fn placed(&self) -> CallbackPlaced {
        CallbackPlaced {
            contact_id: self.contact,
            queue: self.queue.clone(),
            state: Stage::Queued,
            channel: Channel::Callback,
            number: self.number.clone(),
            due: self.due,
            position: self.position,
            estimated_wait: self.estimated_wait,
        }
    }
}

/// Why a callback was not made. [`CallbackError::code`] is the stable code every door uses;
/// the message is what the `error` frame and the HTTP body say.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// A bad number or due time (422 `invalid`, `details.field` names it).
    #[error("{0}")]
    Invalid(ValidationError),
    /// No such contact in the ACD (never was, or gone: abandoned, served).
    #[error("contact {0} is not in the ACD")]
    UnknownContact(ContactId),
    /// The contact rings at an agent or is being handled (`state` says which).
    #[error("the contact is {state}; only a waiting call or chat can become a callback")]
    NotWaiting { state: &'static str },
    /// An e-mail or ticket: only a waiting call or chat becomes a callback.
    #[error("the contact is a {}; only a waiting call or chat can become a callback", .0.as_str())]
    WrongChannel(Channel),
    /// It is a callback already.
    #[error("the contact is a callback already")]
    AlreadyCallback,
    /// The agent does not serve the contact's queue.
    #[error("you do not serve the contact's queue")]
    NotYourQueue,
    /// The contact waits for another agent (transferred to them).
    #[error("the contact waits for another agent")]
    NotYours,
    /// The dispatcher failed (or refused for a reason of its own).
    #[error(transparent)]
    Dispatch(DispatchError),
}

impl CallbackError {
    pub fn code(&self) -> &'static str {
        match self {
            CallbackError::Invalid(_) => "invalid",
            CallbackError::UnknownContact(_) => "unknown_contact",
            CallbackError::NotWaiting { .. } => "not_waiting",
            CallbackError::WrongChannel(_) => "wrong_channel",
            CallbackError::AlreadyCallback => "already_callback",
            CallbackError::NotYourQueue => "not_your_queue",
            CallbackError::NotYours => "not_yours",
            CallbackError::Dispatch(e) => e.code(),
        }
    }

    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl From<ValidationError> for CallbackError {
    fn from(e: ValidationError) -> Self {
        CallbackError::Invalid(e)
    }
}

impl From<DispatchError> for CallbackError {
    fn from(e: DispatchError) -> Self {
        CallbackError::Dispatch(e)
    }
}

/// The number as the PBX dials it (`+` and digits), or why it is not a phone number.
pub fn dialable(number: &str) -> Result<String, ValidationError> {
    let bad = || {
        ValidationError::new(
            "number",
            "must be a phone number: an optional leading +, then 3 to 20 digits (spaces, -, ., ( and ) allowed between)",
        )
    };
    let trimmed = number.trim();
    let mut out = String::with_capacity(trimmed.len());
    for (i, ch) in trimmed.chars().enumerate() {
        match ch {
            '+' if i == 0 => out.push('+'),
            '0'..='9' => out.push(ch),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(bad()),
        }
    }
    let digits = out.trim_start_matches('+').len();
    if !(3..=20).contains(&digits) {
        return Err(bad());
    }
    Ok(out)
}

/// The promised time, if it is one we can keep: later than `now`, at most [`MAX_DUE_AHEAD`].
pub fn check_due(due_ms: i64, now: Timestamp) -> Result<Timestamp, ValidationError> {
    let due = Timestamp::from_millis(due_ms);
    if due <= now {
        return Err(ValidationError::new(
            "due",
            "must be later than now (milliseconds since the epoch)",
        ));
    }
    if due > now.plus(MAX_DUE_AHEAD) {
        return Err(ValidationError::new(
            "due",
            "must be at most 7 days from now",
        ));
    }
    Ok(due)
}

/// Whether the contact is a callback now (so the original call's hang-up must not abandon it).
///
/// # Errors
/// The dispatcher's.
pub async fn is_callback(
    dispatcher: &impl QueueBackend,
    contact: ContactId,
) -> Result<bool, DispatchError> {
    Ok(dispatcher.contact_channel(contact).await? == Some(Channel::Callback))
}

/// The use case: checks the request against the rules (module doc) and turns the waiting
/// call (or chat) into a callback that keeps its place. `due` is in ms since the epoch.
///
/// # Errors
/// See [`CallbackError`].
pub async fn request_callback(
    dispatcher: &impl QueueBackend,
    contact: ContactId,
    number: &str,
    due: Option<i64>,
    by: Actor,
    now: Timestamp,
) -> Result<Callback, CallbackError> {
    let number = dialable(number)?;
    let due = due.map(|ms| check_due(ms, now)).transpose()?;
    let Some(current) = dispatcher.contact(contact).await? else {
        return Err(CallbackError::UnknownContact(contact));
    };
    match dispatcher.contact_channel(contact).await? {
        Some(Channel::Voice | Channel::Chat) => {}
        Some(Channel::Callback) => return Err(CallbackError::AlreadyCallback),
        Some(other) => return Err(CallbackError::WrongChannel(other)),
        None => return Err(CallbackError::UnknownContact(contact)),
    }
    let ContactState::Queued {
        queue,
        target_agent,
        ..
    } = current
    else {
        return Err(CallbackError::NotWaiting {
            state: current.name(),
        });
    };
    if let Actor::Agent(agent) = &by {
        if target_agent.as_ref().is_some_and(|t| t != agent) {
            return Err(CallbackError::NotYours);
        }
        if target_agent.is_none() && !dispatcher.agent_queues(agent).await?.contains(&queue) {
            return Err(CallbackError::NotYourQueue);
        }
    }
    let command = Command::CallbackInPlace {
        contact,
        number: number.clone(),
        due,
    };
    match dispatcher.execute(command, now).await {
        Ok(_) => {}
        // It changed between the look and the command (answered, abandoned meanwhile).
        Err(DispatchError::UnknownContact(_)) => {
            return Err(CallbackError::UnknownContact(contact))
        }
        Err(DispatchError::InvalidTransition { state, .. }) => {
            return Err(match state {
                "queued" => CallbackError::AlreadyCallback,
                state => CallbackError::NotWaiting { state },
            })
        }
        Err(DispatchError::Invalid(v)) => return Err(CallbackError::Invalid(v)),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(contact_id = %contact, %queue, by = ?by, "callback in place requested");
    let position = dispatcher.position(contact, now).await?;
    Ok(Callback {
        contact,
        queue,
        number,
        due,
        position: position.as_ref().map(|p| p.position),
        estimated_wait: position.and_then(|p| p.estimated_wait),
    })
}

impl crate::App {
    /// Callback in place as of now, through any door: the console, the floor, REST (the
    /// PBX's hook goes through [`App::call_hook`](crate::App::call_hook), which finds the
    /// call's contact first).
    ///
    /// # Errors
    /// See [`CallbackError`].
    pub async fn request_callback(
        &self,
        contact: ContactId,
        number: &str,
        due: Option<Timestamp>,
        by: Actor,
    ) -> Result<Callback, CallbackError> {
        request_callback(
            self.dispatcher.as_ref(),
            contact,
            number,
            due.map(Timestamp::as_millis),
            by,
            self.now(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_kept_as_dialled() {
        assert_eq!(dialable(" +1 (555) 010-0199 ").unwrap(), "+15550100199");
        assert_eq!(dialable("0033.1.23.45.67.89").unwrap(), "0033123456789");
        assert_eq!(dialable("1001").unwrap(), "1001");
        for bad in [
            "",
            "12",
            "+",
            "1+555",
            "555-CALL-NOW",
            "+1555;drop",
            "123456789012345678901",
            "sip:ann@pbx",
        ] {
            let e = dialable(bad).unwrap_err();
            assert_eq!(e.field, "number", "{bad:?}");
        }
    }

    #[test]
    fn a_promise_is_for_the_coming_week() {
        let now = Timestamp::from_millis(1_800_000_000_000);
        assert!(check_due(now.as_millis(), now).is_err());
        assert!(check_due(now.as_millis() - 1, now).is_err());
        assert_eq!(
            check_due(now.as_millis() + 1, now).unwrap().as_millis(),
            now.as_millis() + 1
        );
        let week = now.plus(MAX_DUE_AHEAD).as_millis();
        assert!(check_due(week, now).is_ok());
        assert_eq!(check_due(week + 1, now).unwrap_err().field, "due");
    }
}
