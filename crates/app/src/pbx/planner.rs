//! The planner: the dispatcher's events in, the PBX's deliveries out (see the parent
//! module).

use std::{collections::HashMap, sync::Arc, time::Duration};

use switchboard_dispatch::QueueBackend;
use switchboard_domain::{Agent, ContactId, Event, EventKind, Integration};
use switchboard_protocol::pbx::{DialInstruction, OfferInstruction, PbxAgent, Webhook};
use switchboard_store::{EventFilter, NewWebhook};
use tokio::sync::{broadcast, Notify};

use super::{for_callback, instruction, Dial, Instruction, Step};
use crate::{App, AppError};

/// The planner: dispatcher events → deliveries. Wakes the deliverer when it queued one.
pub async fn plan(app: App, wake: Arc<Notify>) {
    let mut events = app.dispatcher.subscribe();
    // contact → its PBX call (integration, call id), or `None` for a contact that is not a
    // call of a PBX (a chat, an e-mail…), learnt from arrivals; the database answers only for
    // contacts that arrived before this instance started.
    let mut calls: HashMap<ContactId, Option<(String, String)>> = HashMap::new();
    // contact → the callback it became (`None`: a contact that is not, or not yet, one).
    let mut callbacks: HashMap<ContactId, Option<Dial>> = HashMap::new();
    let mut integrations = Integrations::default();
    loop {
        let e = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::error!(
                    missed = n,
                    "the PBX webhook planner fell behind the dispatcher; instructions for those events are not sent"
                );
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match &e.kind {
            EventKind::ContactQueued {
                contact,
                attributes,
                ..
            } => {
                let call = attributes
                    .get("integration")
                    .zip(attributes.get("call_id"))
                    .map(|(i, c)| (i.clone(), c.clone()));
                calls.insert(*contact, call);
                callbacks.insert(*contact, None);
                continue;
            }
            EventKind::CallbackRequested {
                contact,
                number,
                due,
                ..
            } => {
                let dial = Dial {
                    number: number.clone(),
                    due: *due,
                };
                callbacks.insert(*contact, Some(dial));
                continue;
            }
            EventKind::ContactAbandoned { contact, .. }
            | EventKind::ContactCompleted { contact, .. }
            | EventKind::ContactExited { contact, .. } => {
                calls.remove(contact);
                callbacks.remove(contact);
                continue;
            }
            _ => {}
        }
        let Some(instruction) = instruction(&e) else {
            continue;
        };
        let instruction = match callback_of(&app, &mut callbacks, instruction.contact).await {
            Ok(None) => instruction,
            Ok(Some(dial)) => match for_callback(instruction, &dial) {
                Some(dial) => dial,
                None => continue,
            },
            Err(err) => {
                tracing::error!(error = ?err, event = e.id.0, "could not tell whether this contact is a callback");
                instruction
            }
        };
        match queue_instruction(&app, &mut calls, &mut integrations, &e, &instruction).await {
            Ok(true) => wake.notify_one(),
            Ok(false) => {}
            Err(err) => tracing::error!(
                error = ?err,
                event = e.id.0,
                "could not queue the PBX webhook for this offer"
            ),
        }
    }
}

/// Integrations' callback URLs as last read, so that offers do not each read the database;
/// a change shows within [`INTEGRATION_TTL`].
#[derive(Debug, Default)]
struct Integrations(HashMap<String, (std::time::Instant, Option<String>)>);

const INTEGRATION_TTL: Duration = Duration::from_secs(30);

impl Integrations {
    async fn callback_url(&mut self, app: &App, id: &str) -> Result<Option<String>, AppError> {
        if let Some((at, url)) = self.0.get(id) {
            if at.elapsed() < INTEGRATION_TTL {
                return Ok(url.clone());
            }
        }
        let url = app
            .store
            .get::<Integration>(id)
            .await?
            .and_then(|v| v.doc.callback_url);
        self.0
            .insert(id.to_owned(), (std::time::Instant::now(), url.clone()));
        Ok(url)
    }
}

/// The callback the contact became, if it became one: from the events followed, else (a
/// contact queued before this instance started) its `callback_requested` in the event log.
async fn callback_of(
    app: &App,
    callbacks: &mut HashMap<ContactId, Option<Dial>>,
    contact: ContactId,
) -> Result<Option<Dial>, AppError> {
    if let Some(known) = callbacks.get(&contact) {
        return Ok(known.clone());
    }
    let filter = EventFilter {
        contact: Some(contact),
        kind: Some("callback_requested".into()),
        limit: 1,
        ..EventFilter::default()
    };
    let dial = app
        .store
        .events(&filter)
        .await?
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::CallbackRequested { number, due, .. } => Some(Dial { number, due }),
            _ => None,
        });
    callbacks.insert(contact, dial.clone());
    Ok(dial)
}

async fn queue_instruction(
    app: &App,
    calls: &mut HashMap<ContactId, Option<(String, String)>>,
    integrations: &mut Integrations,
    e: &Event,
    i: &Instruction,
) -> Result<bool, AppError> {
    let call = match calls.get(&i.contact) {
        Some(call) => call.clone(),
        None => {
            let call = app.store.call_of_contact(i.contact).await?;
            calls.insert(i.contact, call.clone());
            call
        }
    };
    let Some((integration_id, call_id)) = call else {
        return Ok(false); // not a PBX call (a chat, an e-mail…)
    };
    let Some(url) = integrations.callback_url(app, &integration_id).await? else {
        return Ok(false); // the PBX routes its calls itself
    };
    let agent = app
        .store
        .get::<Agent>(i.agent.as_str())
        .await?
        .map(|v| v.doc);
    let id = format!("{integration_id}:{}:{}", e.at.as_millis(), e.id.0);
    let offer = |deadline, reason| OfferInstruction {
        event_id: id.clone(),
        call_id: call_id.clone(),
        contact_id: i.contact,
        queue: i.queue.clone(),
        agent: PbxAgent {
            id: i.agent.clone(),
            extension: agent.as_ref().and_then(|a| a.extension.clone()),
            number: agent.as_ref().map(|a| a.number.clone()),
        },
        deadline,
        reason,
        at: e.at,
    };
    let webhook = match &i.step {
        Step::Ring { deadline } => Webhook::Ring(offer(Some(*deadline), None)),
        Step::Connect => Webhook::Connect(offer(None, None)),
        Step::Cancel { reason } => Webhook::Cancel(offer(None, Some(*reason))),
        // Nothing rings, nothing is cancelled: the number to dial and the promised time.
        Step::Dial(dial) => Webhook::Dial(DialInstruction {
            event_id: id.clone(),
            call_id: Some(call_id.clone()),
            contact_id: i.contact,
            queue: i.queue.clone(),
            number: dial.number.clone(),
            due: dial.due,
            agent: PbxAgent {
                id: i.agent.clone(),
                extension: agent.as_ref().and_then(|a| a.extension.clone()),
                number: agent.as_ref().map(|a| a.number.clone()),
            },
            at: e.at,
        }),
    };
    let body = switchboard_protocol::to_sorted_json(&webhook).map_err(AppError::internal)?;
    Ok(app
        .store
        .queue_webhook(
            &NewWebhook {
                id: &id,
                integration_id: &integration_id,
                kind: webhook.kind(),
                url: &url,
                body: &body,
            },
            e.at,
        )
        .await?)
}
