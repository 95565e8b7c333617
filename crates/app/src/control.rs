//! Call control from the sockets: what an agent does on their console (state, accept,
//! reject, hold, resume, end, transfer, wrap up, callback in place) and what a supervisor
//! does on the floor (force an agent's state, move a contact, change its urgency, callback in
//! place) — each a dispatcher command, answered with the socket's `ack` or `error` frame —
//! and the views those sockets start from (the console's `hello` and figures, the floor).
//!
//! The sockets parse a text frame into the protocol's request and call [`App::agent_request`]
//! or [`App::floor_request`]; the rules (an agent acts on their own contacts only) are here.

use switchboard_dispatch::QueueBackend;
use switchboard_domain::{
    AgentId, Command, ContactId, ContactState, Disposition, WrapUp, MAX_NAME_LEN,
};
use switchboard_protocol::{console, floor};

use crate::{callback::Actor, live::floor::FloorView, App, AppError};

impl App {
    /// The first frame of a console that does not resume: the agent's profile and state.
    pub async fn console_hello(&self, agent: &AgentId) -> console::Frame {
        crate::live::console::hello(&self.store, &self.dispatcher, agent).await
    }

    /// The agent's own figures and their queues' load, as a `stats` frame.
    pub async fn console_figures(&self, agent: &AgentId) -> console::Frame {
        self.consoles()
            .figures(&self.dispatcher, agent, self.now())
            .await
    }

    /// The floor now, from the read model (one read shared by every supervisor watching).
    pub async fn floor_view(&self) -> FloorView {
        self.floor()
            .view(&self.store, &self.dispatcher, self.now())
            .await
    }

    /// What `agent`'s console asked for, answered with `ack`, `pong` or `error`.
    pub async fn agent_request(
        &self,
        agent: &AgentId,
        request: console::Request,
    ) -> console::Frame {
        use console::{Frame, Request};
        let (id, command) = match request {
            Request::Ping { id } => return Frame::Pong { in_reply_to: id },
            Request::SetState { id, presence } => (
                id,
                Command::SetPresence {
                    agent: agent.clone(),
                    presence,
                },
            ),
            Request::Accept { id, contact_id } => (
                id,
                Command::Accept {
                    contact: contact_id,
                    agent: agent.clone(),
                },
            ),
            Request::Reject { id, contact_id } => (
                id,
                Command::Reject {
                    contact: contact_id,
                    agent: agent.clone(),
                },
            ),
            Request::Hold { id, contact_id } => (
                id,
                Command::Hold {
                    contact: contact_id,
                },
            ),
            Request::Resume { id, contact_id } => (
                id,
                Command::Resume {
                    contact: contact_id,
                },
            ),
            Request::End { id, contact_id } => (
                id,
                Command::Complete {
                    contact: contact_id,
                },
            ),
            Request::Transfer { id, contact_id, to } => (
                id,
                Command::Transfer {
                    contact: contact_id,
                    to,
                },
            ),
            Request::WrapUp {
                id,
                contact_id,
                disposition,
                resolved,
            } => {
                if let Some(code) = &disposition {
                    if let Err(frame) = self.configured_disposition(&id, code).await {
                        return frame;
                    }
                }
                (
                    id,
                    Command::FinishWrapUp {
                        contact: contact_id,
                        agent: agent.clone(),
                        wrap_up: WrapUp {
                            disposition,
                            resolved,
                        },
                    },
                )
            }
            Request::CallbackInPlace {
                id,
                contact_id,
                number,
                due,
            } => {
                let by = Actor::Agent(agent.clone());
                return match self.request_callback(contact_id, &number, due, by).await {
                    Ok(_) => Frame::Ack { in_reply_to: id },
                    Err(e) => Frame::error(id, e.code(), e.to_string()),
                };
            }
        };
        // An agent acts on their own contacts only.
        if let Some(contact) = held_contact(&command) {
            let mine = match self.dispatcher.contact(contact).await {
                Ok(Some(s)) => holder(&s).is_none_or(|h| &h == agent),
                Ok(None) => true,
                Err(_) => false,
            };
            if !mine {
                return Frame::error(id, "not_yours", "that contact is another agent's");
            }
        }
        match self.dispatcher.execute(command, self.now()).await {
            Ok(_) => Frame::Ack { in_reply_to: id },
            Err(e) => Frame::error(id, e.code(), e.to_string()),
        }
    }

    /// What a supervisor asked for on the floor socket, answered with `ack`, `pong` or
    /// `error`.
    pub async fn floor_request(&self, request: floor::Request) -> floor::Frame {
        use floor::{Frame, Request};
        let (id, command) = match request {
            Request::Ping { id } => return Frame::Pong { in_reply_to: id },
            Request::SetAgentState {
                id,
                agent,
                presence,
            } => (id, Command::SetPresence { agent, presence }),
            Request::MoveContact { id, contact_id, to } => (
                id,
                Command::Transfer {
                    contact: contact_id,
                    to,
                },
            ),
            Request::SetUrgency {
                id,
                contact_id,
                urgency,
            } => (
                id,
                Command::SetUrgency {
                    contact: contact_id,
                    urgency,
                },
            ),
            Request::CallbackInPlace {
                id,
                contact_id,
                number,
                due,
            } => {
                return match self
                    .request_callback(contact_id, &number, due, Actor::Supervisor)
                    .await
                {
                    Ok(_) => Frame::Ack { in_reply_to: id },
                    Err(e) => Frame::error(id, e.code(), e.to_string()),
                };
            }
        };
        match self.dispatcher.execute(command, self.now()).await {
            Ok(_) => Frame::Ack { in_reply_to: id },
            Err(e) => Frame::error(id, e.code(), e.to_string()),
        }
    }
}

impl App {
    /// Whether `code` is one of the configured dispositions (`/api/v1/dispositions`); if not,
    /// the `unknown_disposition` error frame. With none configured every code is unknown: a
    /// wrap-up then names no disposition.
    async fn configured_disposition(
        &self,
        id: &switchboard_protocol::RequestId,
        code: &str,
    ) -> Result<(), console::Frame> {
        // A code longer than any name cannot be configured; it is not looked up nor echoed.
        let known = if code.len() > MAX_NAME_LEN {
            Ok(None)
        } else {
            self.store.get::<Disposition>(code).await
        };
        match known {
            Ok(Some(_)) => Ok(()),
            Ok(None) => {
                let shown = if code.len() > MAX_NAME_LEN {
                    String::new()
                } else {
                    format!(" {code:?}")
                };
                Err(console::Frame::error(
                    id.clone(),
                    "unknown_disposition",
                    format!(
                        "disposition{shown} is not configured; pick one of /api/v1/dispositions"
                    ),
                ))
            }
            Err(e) => {
                let e = AppError::from(e);
                tracing::warn!(error = %e, "reading the dispositions for a wrap-up failed");
                Err(console::Frame::error(
                    id.clone(),
                    e.code(),
                    "the dispositions could not be read; try again",
                ))
            }
        }
    }
}

/// The contact of a command that acts on a contact an agent holds (wrap-up names its agent
/// itself, and the engine checks it).
fn held_contact(command: &Command) -> Option<ContactId> {
    match command {
        Command::Hold { contact }
        | Command::Resume { contact }
        | Command::Complete { contact }
        | Command::Transfer { contact, .. } => Some(*contact),
        _ => None,
    }
}

fn holder(state: &ContactState) -> Option<AgentId> {
    match state {
        ContactState::Offered { agent, .. }
        | ContactState::Assigned { agent, .. }
        | ContactState::Held { agent, .. }
        | ContactState::WrapUp { agent, .. } => Some(agent.clone()),
        ContactState::Queued { .. } => None,
    }
}
