//! Intake, once for every door: a call reported by the PBX (the generic hook's
//! `call.arrived`, the CTI `newCall`) and a chat, e-mail or ticket created through REST all
//! enter the ACD here ([`App::intake`]).
//!
//! What every door gets alike:
//! - the contact's **attributes** are bounded (at most 50; keys up to 64 and values up to
//!   1,000 characters);
//! - the **customer** (the IVR's or the form's `customer` reference, else the caller's
//!   number) is linked to the contact for repeat-contact detection;
//! - a queue that refuses contacts while nobody is logged in answers [`Admission::Refused`];
//! - the answer carries the contact's place and estimated wait (what the IVR announces).
//!
//! A PBX call ([`Intake::call`]) is claimed first, so it enters the ACD once whatever the
//! retries: its contact id is the one the first claim stored, and a call the PBX already
//! reported as hung up is not queued ([`Admission::CallEnded`]). The contact remembers which
//! PBX it is on (`integration`), so the outbound webhooks find it.

use std::{collections::BTreeMap, time::Duration};

use switchboard_dispatch::{fresh_contact_id, DispatchError, QueueBackend};
use switchboard_domain::{
    Channel, Command, ContactId, EventKind, NewContact, QueueId, SkillRequirement, Tier, Urgency,
    ValidationError,
};
use switchboard_protocol::contacts::Stage;

use crate::{App, AppError};

/// At most this many attributes per contact.
pub const MAX_ATTRIBUTES: usize = 50;
pub const MAX_ATTRIBUTE_KEY: usize = 64;
pub const MAX_ATTRIBUTE_VALUE: usize = 1_000;

/// A contact to admit.
#[derive(Clone, Debug)]
pub struct Intake {
    pub queue: QueueId,
    pub channel: Channel,
    pub skills: Vec<SkillRequirement>,
    pub urgency: Urgency,
    pub tier: Tier,
    pub attributes: BTreeMap<String, String>,
    /// The PBX call behind it, for calls the PBX reports.
    pub call: Option<PbxCall>,
}

/// A call as a PBX integration names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbxCall {
    pub integration: String,
    pub call_id: String,
}

/// What became of a contact offered for intake.
#[derive(Clone, Debug, PartialEq)]
pub enum Admission {
    /// In the ACD: waiting (with its place), or already offered to an agent.
    Admitted(Admitted),
    /// The queue refuses contacts while no agent is logged in to it.
    Refused { contact: ContactId },
    /// The PBX reported this call hung up before it arrived: not queued.
    CallEnded,
}

/// A contact in the ACD.
#[derive(Clone, Debug, PartialEq)]
pub struct Admitted {
    pub contact: ContactId,
    pub queue: QueueId,
    pub stage: Option<Stage>,
    /// 1 = next in line; none once it is offered.
    pub position: Option<u32>,
    pub estimated_wait: Option<Duration>,
}

impl Intake {
    /// Checks what every door must send.
    ///
    /// # Errors
    /// Too many or too long attributes.
    pub fn check(&self) -> Result<(), ValidationError> {
        if self.attributes.len() > MAX_ATTRIBUTES
            || self
                .attributes
                .iter()
                .any(|(k, v)| k.len() > MAX_ATTRIBUTE_KEY || v.len() > MAX_ATTRIBUTE_VALUE)
        {
            return Err(ValidationError::new(
                "attributes",
                format!(
                    "at most {MAX_ATTRIBUTES}, keys ≤ {MAX_ATTRIBUTE_KEY} and values ≤ {MAX_ATTRIBUTE_VALUE} characters"
                ),
            ));
        }
        Ok(())
    }
}

impl App {
    /// Admits a contact into the ACD (see the module documentation).
    ///
    /// # Errors
    /// [`AppError::Invalid`] for bad attributes (or a contact the engine refuses as sent, e.g.
    /// an unknown queue: `unknown_queue`); a store or dispatcher failure.
    pub async fn intake(&self, intake: Intake) -> Result<Admission, AppError> {
        intake.check()?;
        let now = self.now();
        let Intake {
            queue,
            channel,
            skills,
            urgency,
            tier,
            mut attributes,
            call,
        } = intake;
        let mut id = fresh_contact_id(now);
        if let Some(call) = &call {
            let record = self
                .store
                .claim_call(&call.integration, &call.call_id, id, now)
                .await?;
            match record.contact_id {
                Some(claimed) if record.ended_at.is_none() => id = claimed,
                _ => return Ok(Admission::CallEnded),
            }
            attributes.insert("call_id".into(), call.call_id.clone());
            attributes.insert("integration".into(), call.integration.clone());
        }
        // Who the customer is, for repeat-contact detection: the IVR's or the form's
        // reference, else the caller's number.
        let customer = attributes
            .get("customer")
            .or(attributes.get("caller"))
            .cloned();
        let new = NewContact {
            id,
            queue: queue.clone(),
            channel,
            skills,
            urgency,
            tier,
            attributes,
        };
        let refused = match self.dispatcher.execute(Command::Enqueue(new), now).await {
            Ok(events) => events
                .iter()
                .any(|e| matches!(e.kind, EventKind::ContactRefused { .. })),
            // A retry of a call that was queued already.
            Err(DispatchError::DuplicateContact(_)) if call.is_some() => false,
            Err(e) => return Err(e.into()),
        };
        if let Some(customer) = customer {
            self.store.set_contact_customer(id, &customer, now).await?;
        }
        if refused {
            return Ok(Admission::Refused { contact: id });
        }
        let position = self.dispatcher.position(id, now).await?;
        let stage = self.dispatcher.contact(id).await?.map(|s| Stage::from(&s));
        Ok(Admission::Admitted(Admitted {
            contact: id,
            queue,
            stage,
            position: position.as_ref().map(|p| p.position),
            estimated_wait: position.and_then(|p| p.estimated_wait),
        }))
    }
}
