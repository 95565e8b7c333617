//! What a PBX reports about its calls, once for both of its formats: the generic signed
//! hooks ([`App::call_hook`]: `call.arrived`, `call.answered`, `call.held`, `call.resumed`,
//! `call.transferred`, `call.ended`, `call.callback_requested`) and the Zammad generic CTI
//! ([`App::cti_event`]: `newCall`, `answer`, `hangup`). The edge checks the signature (or
//! the CTI token, [`App::cti_integration`]) and parses the body into the protocol's types;
//! everything after is here.
//!
//! - **Idempotent**: a generic hook's answer is stored under its `event_id`, and a repeat
//!   gets the first answer again and changes nothing. A CTI `newCall` repeated, or a
//!   `hangup` for a call we do not know, is answered `{}`.
//! - **Tolerant of order**: a hang-up before the arrival keeps the call from being queued
//!   later; a hold for a call no longer handled is answered `ignored` (with the reason),
//!   never an error that makes the PBX retry forever. Errors are only for requests that can
//!   never succeed as sent.
//! - Both modes: **we route** (the PBX waits for our `call.ring`), and **the PBX routes**
//!   (its `answer` names the agent who took the call, who then becomes busy with it).

use std::collections::BTreeMap;

use subtle::ConstantTimeEq;
use switchboard_dispatch::{DispatchError, QueueBackend};
use switchboard_domain::{
    Agent, AgentId, Channel, Command, ContactId, ContactState, Integration, IntegrationKind, Tier,
    TransferTarget, Urgency, ValidationError,
};
use switchboard_protocol::hooks::{
    cti::{self, CtiAnswer, CtiEvent, Direction},
    CallEvent, Delivery, Done, HookAnswer,
};

use crate::{
    callback::{is_callback, request_callback, Actor, CallbackError},
    intake::{Admission, Intake, PbxCall},
    App, AppError,
};

impl App {
    /// The generic-hook integration `id`, if there is one.
    ///
    /// # Errors
    /// A store failure.
    pub async fn hook_integration(&self, id: &str) -> Result<Option<Integration>, AppError> {
        Ok(self
            .store
            .get::<Integration>(id)
            .await?
            .map(|v| v.doc)
            .filter(|i| i.kind == IntegrationKind::Generic))
    }

    /// The CTI integration whose token is `token`, if there is one.
    ///
    /// # Errors
    /// A store failure.
    pub async fn cti_integration(&self, token: &str) -> Result<Option<Integration>, AppError> {
        Ok(self
            .store
            .list::<Integration>()
            .await?
            .into_iter()
            .map(|v| v.doc)
            .find(|i| {
                i.kind == IntegrationKind::ZammadCti
                    // In time independent of where they differ (`subtle`).
                    && bool::from(i.secret.as_bytes().ct_eq(token.as_bytes()))
            }))
    }

    /// A signed generic hook of `integration` (its signature checked by the edge): the answer
    /// as JSON, the stored one for an `event_id` seen before.
    ///
    /// # Errors
    /// [`AppError::Invalid`] for a request that can never succeed as sent (a bad event id,
    /// call id, number…); a store or dispatcher failure.
    pub async fn call_hook(
        &self,
        integration: &str,
        delivery: Delivery,
    ) -> Result<serde_json::Value, AppError> {
        switchboard_protocol::hooks::check_event_id(&delivery.event_id)?;
        if let Some(previous) = self
            .store
            .hook_response(integration, &delivery.event_id)
            .await?
        {
            // A retry: the same answer, nothing done again.
            return serde_json::from_str(&previous).map_err(|e| {
                AppError::internal(format!("a stored hook answer does not parse: {e}"))
            });
        }
        let answer = self.call_event(integration, delivery.event).await?;
        let answer = serde_json::to_value(&answer).map_err(AppError::internal)?;
        self.store
            .save_hook_response(
                integration,
                &delivery.event_id,
                &answer.to_string(),
                self.now(),
            )
            .await?;
        Ok(answer)
    }

    /// What one call event does (not idempotent by itself: [`App::call_hook`] is).
    ///
    /// # Errors
    /// As [`App::call_hook`].
    pub async fn call_event(
        &self,
        integration: &str,
        event: CallEvent,
    ) -> Result<HookAnswer, AppError> {
        // Call id, numbers and texts bounded and free of control characters.
        event.check()?;
        match event {
            CallEvent::Arrived {
                call_id,
                queue,
                caller,
                dialed,
                skills,
                language,
                customer,
                customer_name,
                tier,
                urgency,
                ivr,
            } => {
                let mut attributes: BTreeMap<String, String> = ivr
                    .into_iter()
                    .map(|(k, v)| (format!("ivr.{k}"), v))
                    .collect();
                for (key, value) in [
                    ("caller", caller),
                    ("dialed", dialed),
                    ("language", language),
                    ("customer", customer),
                    ("customer_name", customer_name),
                ] {
                    if let Some(v) = value {
                        attributes.insert(key.into(), v);
                    }
                }
                let intake = Intake {
                    queue,
                    channel: Channel::Voice,
                    skills,
                    urgency,
                    tier,
                    attributes,
                    call: Some(PbxCall {
                        integration: integration.to_owned(),
                        call_id,
                    }),
                };
                Ok(match self.intake(intake).await? {
                    Admission::Admitted(a) => HookAnswer::Ok(Done::Queued {
                        contact_id: a.contact,
                        queue: a.queue,
                        position: a.position,
                        estimated_wait: a.estimated_wait,
                    }),
                    Admission::Refused { contact } => HookAnswer::Refused {
                        reason: "no agent is logged in to this queue".into(),
                        contact_id: contact,
                    },
                    Admission::CallEnded => HookAnswer::ignored("the call already ended", None),
                })
            }
            CallEvent::Ended { call_id, cause } => {
                self.call_ended(integration, &call_id, cause).await
            }
            CallEvent::CallbackRequested {
                call_id,
                number,
                due,
            } => {
                self.callback_for_call(integration, &call_id, &number, due.map(|d| d.as_millis()))
                    .await
            }
            CallEvent::Answered { call_id, agent } => {
                let Some(contact) = self.contact_of_call(integration, &call_id).await? else {
                    return Ok(HookAnswer::ignored("unknown call", None));
                };
                self.call_answered(contact, agent).await
            }
            CallEvent::Held { call_id } => {
                self.apply_to_call(integration, &call_id, |contact| Command::Hold { contact })
                    .await
            }
            CallEvent::Resumed { call_id } => {
                self.apply_to_call(integration, &call_id, |contact| Command::Resume { contact })
                    .await
            }
            CallEvent::Transferred {
                call_id,
                queue,
                agent,
            } => {
                let to = match (queue, agent) {
                    (Some(q), None) => TransferTarget::Queue(q),
                    (None, Some(a)) => TransferTarget::Agent(a),
                    _ => {
                        return Err(ValidationError::new(
                            "queue",
                            "name exactly one of queue or agent",
                        )
                        .into());
                    }
                };
                self.apply_to_call(integration, &call_id, move |contact| Command::Transfer {
                    contact,
                    to,
                })
                .await
            }
        }
    }

    /// A Zammad generic CTI event of `integration` (its token checked by the edge).
    ///
    /// # Errors
    /// As [`App::call_hook`].
    pub async fn cti_event(
        &self,
        integration: &str,
        event: CtiEvent,
    ) -> Result<CtiAnswer, AppError> {
        match event {
            CtiEvent::NewCall {
                direction: Direction::Out,
                ..
            } => Ok(CtiAnswer::Done {}),
            CtiEvent::NewCall {
                call_id,
                queue,
                from,
                to,
                user,
                ..
            } => {
                // `from_fields` names the queue of every inbound call.
                let queue = queue.ok_or_else(cti::missing_queue)?;
                let mut attributes = BTreeMap::new();
                for (key, value) in [("caller", from), ("to", to), ("user", user)] {
                    if let Some(v) = value {
                        attributes.insert(key.to_owned(), v);
                    }
                }
                let intake = Intake {
                    queue,
                    channel: Channel::Voice,
                    skills: Vec::new(),
                    urgency: Urgency::default(),
                    tier: Tier::default(),
                    attributes,
                    call: Some(PbxCall {
                        integration: integration.to_owned(),
                        call_id,
                    }),
                };
                Ok(match self.intake(intake).await? {
                    Admission::Refused { .. } => CtiAnswer::BUSY,
                    Admission::Admitted(_) | Admission::CallEnded => CtiAnswer::Done {},
                })
            }
            CtiEvent::Hangup { call_id, cause } => {
                self.call_ended(integration, &call_id, cause).await?;
                Ok(CtiAnswer::Done {})
            }
            CtiEvent::Answer {
                call_id,
                user,
                answering_number,
            } => {
                if let Some(contact) = self.contact_of_call(integration, &call_id).await? {
                    let agent = self
                        .cti_agent(user.as_deref(), answering_number.as_deref())
                        .await?;
                    self.call_answered(contact, agent).await?;
                }
                Ok(CtiAnswer::Done {})
            }
        }
    }

    async fn contact_of_call(
        &self,
        integration: &str,
        call_id: &str,
    ) -> Result<Option<ContactId>, AppError> {
        Ok(self
            .store
            .call(integration, call_id)
            .await?
            .and_then(|c| c.contact_id))
    }

    /// Runs a command on the call's contact; a call no longer in a state for it is
    /// `ignored`.
    async fn apply_to_call(
        &self,
        integration: &str,
        call_id: &str,
        command: impl FnOnce(ContactId) -> Command,
    ) -> Result<HookAnswer, AppError> {
        let Some(contact) = self.contact_of_call(integration, call_id).await? else {
            return Ok(HookAnswer::ignored("unknown call", None));
        };
        match self.dispatcher.execute(command(contact), self.now()).await {
            Ok(_) => Ok(HookAnswer::applied(contact)),
            Err(
                e @ (DispatchError::UnknownContact(_) | DispatchError::InvalidTransition { .. }),
            ) => Ok(HookAnswer::ignored(e.to_string(), Some(contact))),
            Err(e) => Err(e.into()),
        }
    }

    /// The caller hung up: a waiting or ringing call is abandoned, a call in conversation
    /// ends (wrap-up starts). A hang-up first, arrival later: the arrival is then ignored. A
    /// call that became a callback is not abandoned while it waits or rings (the caller hung
    /// up on purpose); once an agent has it, the hang-up of its call id ends the
    /// conversation as for any call.
    async fn call_ended(
        &self,
        integration: &str,
        call_id: &str,
        cause: Option<String>,
    ) -> Result<HookAnswer, AppError> {
        let now = self.now();
        let contact = self.contact_of_call(integration, call_id).await?;
        self.store.end_call(integration, call_id, now).await?;
        let Some(contact) = contact else {
            return Ok(HookAnswer::ignored("unknown call", None));
        };
        let command = match self.dispatcher.contact(contact).await? {
            // The caller asked to be called back, then hung up: the callback keeps its place.
            Some(ContactState::Queued { .. } | ContactState::Offered { .. })
                if is_callback(self.dispatcher.as_ref(), contact).await? =>
            {
                return Ok(HookAnswer::ignored(
                    "the caller asked to be called back; the callback keeps its place",
                    Some(contact),
                ));
            }
            Some(ContactState::Queued { .. } | ContactState::Offered { .. }) => {
                Command::Abandon { contact }
            }
            Some(ContactState::Assigned { .. } | ContactState::Held { .. }) => {
                Command::Complete { contact }
            }
            _ => {
                return Ok(HookAnswer::ignored(
                    "the contact is no longer in the ACD",
                    Some(contact),
                ))
            }
        };
        match self.dispatcher.execute(command, now).await {
            Ok(_) => Ok(HookAnswer::Ok(Done::Ended {
                contact_id: contact,
                cause,
            })),
            Err(
                e @ (DispatchError::UnknownContact(_) | DispatchError::InvalidTransition { .. }),
            ) => Ok(HookAnswer::ignored(e.to_string(), Some(contact))),
            Err(e) => Err(e.into()),
        }
    }

    /// The PBX connected the call to `agent`. Ringing at that agent, it is their accept
    /// (they picked up the phone); otherwise the PBX routed the call itself (PBX-routes
    /// mode) and the agent is now busy with it — taken from the line, or from the agent it
    /// rang at. Without an agent, or one who cannot take it (unknown, logged out, busy), the
    /// answer is `ignored` with the reason: the PBX must not retry.
    async fn call_answered(
        &self,
        contact: ContactId,
        agent: Option<AgentId>,
    ) -> Result<HookAnswer, AppError> {
        let Some(agent) = agent else {
            return Ok(HookAnswer::ignored("no agent named", Some(contact)));
        };
        match self
            .dispatcher
            .execute(Command::Answer { contact, agent }, self.now())
            .await
        {
            Ok(_) => Ok(HookAnswer::applied(contact)),
            Err(
                e @ (DispatchError::UnknownContact(_)
                | DispatchError::UnknownAgent(_)
                | DispatchError::AgentOffline(_)
                | DispatchError::AgentBusy(_)
                | DispatchError::InvalidTransition { .. }),
            ) => Ok(HookAnswer::ignored(e.to_string(), Some(contact))),
            Err(e) => Err(e.into()),
        }
    }

    /// The agent a CTI `answer` names: `user` is the agent's id; else `answeringNumber` is
    /// matched against the agents' extensions.
    async fn cti_agent(
        &self,
        user: Option<&str>,
        answering_number: Option<&str>,
    ) -> Result<Option<AgentId>, AppError> {
        if let Some(agent) = user.and_then(|u| AgentId::parse(u).ok()) {
            return Ok(Some(agent));
        }
        let Some(number) = answering_number else {
            return Ok(None);
        };
        Ok(self
            .store
            .list::<Agent>()
            .await?
            .into_iter()
            .find(|a| a.doc.extension.as_deref() == Some(number))
            .map(|a| a.doc.profile.id))
    }

    /// The hook's `call.callback_requested`: answered `ok` with the callback's place; `ok`
    /// with `already_requested` for a callback asked for twice (under another event id);
    /// `ignored` with the reason for a call we do not know, one that already ended, or one
    /// no longer waiting (ringing at an agent, answered) — then the call goes on as a call.
    async fn callback_for_call(
        &self,
        integration: &str,
        call_id: &str,
        number: &str,
        due_ms: Option<i64>,
    ) -> Result<HookAnswer, AppError> {
        let Some(call) = self.store.call(integration, call_id).await? else {
            return Ok(HookAnswer::ignored("unknown call", None));
        };
        let Some(contact) = call.contact_id else {
            return Ok(HookAnswer::ignored("the call already ended", None));
        };
        let by = Actor::Pbx {
            integration: integration.to_owned(),
        };
        let now = self.now();
        match request_callback(self.dispatcher.as_ref(), contact, number, due_ms, by, now).await {
            Ok(callback) => Ok(HookAnswer::Ok(Done::Callback(callback.placed()))),
            Err(CallbackError::AlreadyCallback) => {
                let position = self.dispatcher.position(contact, now).await?;
                Ok(HookAnswer::Ok(Done::CallbackAlreadyRequested {
                    already_requested: true,
                    contact_id: contact,
                    position: position.as_ref().map(|p| p.position),
                    estimated_wait: position.and_then(|p| p.estimated_wait),
                }))
            }
            Err(CallbackError::Invalid(v)) => Err(v.into()),
            Err(CallbackError::Dispatch(e)) => Err(e.into()),
            Err(e) => Ok(HookAnswer::Ignored {
                reason: e.message(),
                code: Some(e.code().to_owned()),
                contact_id: Some(contact),
            }),
        }
    }
}
