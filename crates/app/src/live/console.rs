//! The agent consoles' read model: per agent, an outbox of console frames with sequence
//! numbers (what a console shows and what one that reconnects may replay), the offers with
//! their customer card and rendered greeting, and the agent's own figures of the day.
//!
//! [`Consoles::apply`] turns one event into frames; [`Consoles::count`] keeps only the
//! figures and the customer cards (what the replay of today's log feeds). The customer card
//! (channel, tier, the contact's data) is remembered from `contact_queued` here, and only
//! here: `contact_offered` does not carry it.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use switchboard_dispatch::{AnyBackend, QueueBackend};
use switchboard_domain::{
    Agent, AgentId, CenterClock, Channel, ContactId, Event, EventKind, GreetingScript, QueueId,
    Tier, Timestamp,
};
use switchboard_protocol::{
    console::{CallbackOffer, Figures, Frame, WithdrawnReason},
    Stamped,
};
use switchboard_stats::LiveAgentTime;
use switchboard_store::{EventFilter, Store};
use tokio::sync::Notify;

use super::day_of;

/// Messages kept per agent for resuming.
pub const OUTBOX: usize = 1024;
/// How old the waiting figures in a `stats` frame may be.
const QUEUE_FIGURES_TTL: Duration = Duration::from_secs(1);
/// How long a cached configuration record is used before it is read again.
const CONFIG_TTL: Duration = Duration::from_secs(30);

/// One agent's frames, numbered.
#[derive(Debug, Default)]
struct Outbox {
    next_seq: u64,
    messages: VecDeque<(u64, Arc<str>)>,
    /// Messages up to this seq may be gone for lack of room: a console that saw less
    /// cannot resume.
    dropped_upto: u64,
    /// The `stats` message in the outbox, if any: each one supersedes the previous, so only
    /// the latest is kept (an idle console's outbox does not fill up with figures).
    stats_seq: Option<u64>,
    wake: Arc<Notify>,
}

impl Outbox {
    fn push(&mut self, frame: Frame) -> u64 {
        let is_stats = matches!(frame, Frame::Stats(_));
        if let (true, Some(old)) = (is_stats, self.stats_seq.take()) {
            if let Ok(i) = self.messages.binary_search_by_key(&old, |(seq, _)| *seq) {
                self.messages.remove(i);
            }
        }
        self.next_seq += 1;
        let text = Stamped::new(self.next_seq, frame).to_text();
        self.messages.push_back((self.next_seq, Arc::from(text)));
        if is_stats {
            self.stats_seq = Some(self.next_seq);
        }
        while self.messages.len() > OUTBOX {
            if let Some((seq, _)) = self.messages.pop_front() {
                self.dropped_upto = seq;
            }
        }
        self.wake.notify_waiters();
        self.next_seq
    }
}

/// What an offer shows of its contact, remembered from `contact_queued` (and
/// `callback_requested`) until the contact leaves the ACD.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerCard {
    pub channel: Channel,
    pub tier: Tier,
    pub attributes: BTreeMap<String, String>,
    /// Once the call became a callback: the number to dial and the promised time.
    pub callback: Option<CallbackPromise>,
}

/// A callback in place: the number to call back and, if one was promised, when.
#[derive(Clone, Debug, PartialEq)]
pub struct CallbackPromise {
    pub number: String,
    pub due: Option<Timestamp>,
}

impl CustomerCard {
    /// The call became a callback (`callback_requested`): its channel is now `callback`.
    pub fn became_callback(&mut self, promise: CallbackPromise) {
        self.channel = Channel::Callback;
        self.callback = Some(promise);
    }

    /// The card a `contact_queued` event carries.
    pub fn of(e: &Event) -> Option<(ContactId, Self)> {
        match &e.kind {
            EventKind::ContactQueued {
                contact,
                channel,
                tier,
                attributes,
                ..
            } => Some((
                *contact,
                Self {
                    channel: *channel,
                    tier: *tier,
                    attributes: attributes.clone(),
                    callback: None,
                },
            )),
            _ => None,
        }
    }
}

/// What rendering an offer's greeting reads: the company, the greeting scripts and the
/// agents' profiles (set by the subscriber from the store before it applies an offer).
#[derive(Debug, Default)]
struct ConfigCache {
    scripts: Option<(Instant, Arc<Vec<GreetingScript>>)>,
    agents: HashMap<AgentId, (Instant, Option<Arc<Agent>>)>,
    /// Bumped by every clearing, so that a read begun before a write is not kept after it.
    generation: u64,
}

fn fresh(at: Instant) -> bool {
    at.elapsed() < CONFIG_TTL
}

/// Per queue: when it was looked at, contacts waiting and the longest wait (ms). A queue
/// snapshot walks every agent, so thousands of consoles share one per queue per second.
type QueueFigures = HashMap<QueueId, (Instant, u32, u64)>;

/// The read model of every agent's console on this instance.
#[derive(Debug)]
pub struct Consoles {
    company: String,
    outboxes: Mutex<HashMap<AgentId, Outbox>>,
    cards: Mutex<HashMap<ContactId, CustomerCard>>,
    /// Callbacks requested for contacts whose card this instance does not hold (yet): given
    /// to the card when it is read back.
    promises: Mutex<HashMap<ContactId, CallbackPromise>>,
    /// Per agent: staffed and handling time and their handlings of the center's day.
    time: Mutex<HashMap<AgentId, LiveAgentTime>>,
    config: Mutex<ConfigCache>,
    queue_figures: Mutex<QueueFigures>,
    /// Whose midnight starts an agent's "today".
    center: CenterClock,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Default for Consoles {
    fn default() -> Self {
        Self::new("Switchboard")
    }
}

impl Consoles {
    /// Greetings name `company`.
    pub fn new(company: impl Into<String>) -> Self {
        Self {
            company: company.into(),
            outboxes: Mutex::default(),
            cards: Mutex::default(),
            promises: Mutex::default(),
            time: Mutex::default(),
            config: Mutex::default(),
            queue_figures: Mutex::default(),
            center: CenterClock::UTC,
        }
    }

    /// Days start at `center`'s midnight (UTC's by default).
    #[must_use]
    pub fn with_center_clock(mut self, center: CenterClock) -> Self {
        self.center = center;
        self
    }

    fn with<R>(&self, agent: &AgentId, f: impl FnOnce(&mut Outbox) -> R) -> R {
        f(lock(&self.outboxes).entry(agent.clone()).or_default())
    }

    /// Queues a frame for the agent's consoles; its seq.
    pub fn push(&self, agent: &AgentId, frame: Frame) -> u64 {
        self.with(agent, |o| o.push(frame))
    }

    /// Notified whenever a frame is queued for the agent.
    pub fn wake(&self, agent: &AgentId) -> Arc<Notify> {
        self.with(agent, |o| o.wake.clone())
    }

    /// Whether a console that saw everything up to `seen` can be given exactly what it missed
    /// (it is all still in the outbox).
    pub fn can_resume(&self, agent: &AgentId, seen: u64) -> bool {
        self.with(agent, |o| seen >= o.dropped_upto && seen <= o.next_seq)
    }

    /// The agent's frames after `seq`, as sent (JSON text), in order.
    pub fn after(&self, agent: &AgentId, seq: u64) -> Vec<(u64, Arc<str>)> {
        self.with(agent, |o| {
            o.messages
                .iter()
                .filter(|(s, _)| *s > seq)
                .cloned()
                .collect()
        })
    }

    /// The customer card of a contact still in the ACD, if this instance knows it.
    pub fn card(&self, contact: ContactId) -> Option<CustomerCard> {
        lock(&self.cards).get(&contact).cloned()
    }

    /// Remembers a contact's card (read back from the log for a contact queued before this
    /// instance followed the events).
    pub fn remember_card(&self, contact: ContactId, mut card: CustomerCard) {
        if let Some(promise) = lock(&self.promises).remove(&contact) {
            card.became_callback(promise);
        }
        lock(&self.cards).insert(contact, card);
    }

    /// Forget the cached scripts and agent profiles (after a configuration write).
    pub fn config_changed(&self) {
        let mut cache = lock(&self.config);
        *cache = ConfigCache {
            generation: cache.generation + 1,
            ..ConfigCache::default()
        };
    }

    /// Keeps each agent's own figures and the customer cards up to date with one event; the
    /// replay of today's log feeds this.
    pub fn count(&self, e: &Event) {
        if let EventKind::AgentPresenceChanged { agent, .. }
        | EventKind::OfferAccepted { agent, .. }
        | EventKind::ContactCompleted { agent, .. } = &e.kind
        {
            lock(&self.time)
                .entry(agent.clone())
                .or_insert_with(|| LiveAgentTime::new(agent.clone(), day_of(self.center, e.at)))
                .apply(e);
        }
        if let Some((contact, card)) = CustomerCard::of(e) {
            self.remember_card(contact, card);
        }
        if let EventKind::CallbackRequested {
            contact,
            number,
            due,
            ..
        } = &e.kind
        {
            let promise = CallbackPromise {
                number: number.clone(),
                due: *due,
            };
            match lock(&self.cards).get_mut(contact) {
                Some(card) => card.became_callback(promise),
                None => {
                    lock(&self.promises).insert(*contact, promise);
                }
            }
        }
        // Forget contacts that left the ACD (or the agent who completed it: should it ring
        // again after a transfer, the subscriber reads its card back).
        if let EventKind::ContactAbandoned { contact, .. }
        | EventKind::ContactExited { contact, .. }
        | EventKind::ContactRefused { contact, .. }
        | EventKind::ContactCompleted { contact, .. } = &e.kind
        {
            lock(&self.cards).remove(contact);
            lock(&self.promises).remove(contact);
        }
    }

    /// Applies one live event: the figures and cards ([`Consoles::count`]) and the frames for
    /// the agent it concerns. An offer shows the contact's card and the greeting rendered
    /// from the scripts and profile cached by [`Consoles::load_for_offer`].
    pub fn apply(&self, e: &Event) {
        // The offer's card is read before `count` may forget the contact.
        let frame = match &e.kind {
            EventKind::ContactOffered {
                contact,
                queue,
                agent,
                deadline,
            } => {
                let card = self.card(*contact);
                let greeting = self.greeting(agent, queue.as_str(), card.as_ref());
                Some((
                    agent,
                    Frame::Offer {
                        contact_id: *contact,
                        queue: queue.clone(),
                        deadline: *deadline,
                        channel: card.as_ref().map(|c| c.channel),
                        tier: card.as_ref().map(|c| c.tier),
                        callback: card.as_ref().and_then(|c| c.callback.clone()).map(|p| {
                            CallbackOffer {
                                number: p.number,
                                due: p.due,
                            }
                        }),
                        data: card.map(|c| c.attributes),
                        greeting,
                    },
                ))
            }
            EventKind::OfferRejected { contact, agent, .. } => Some((
                agent,
                Frame::OfferWithdrawn {
                    contact_id: *contact,
                    reason: WithdrawnReason::Rejected,
                },
            )),
            EventKind::OfferTimedOut { contact, agent, .. } => Some((
                agent,
                Frame::OfferWithdrawn {
                    contact_id: *contact,
                    reason: WithdrawnReason::TimedOut,
                },
            )),
            EventKind::OfferWithdrawn {
                contact,
                agent,
                reason,
                ..
            } => Some((
                agent,
                Frame::OfferWithdrawn {
                    contact_id: *contact,
                    reason: (*reason).into(),
                },
            )),
            EventKind::OfferAccepted {
                contact,
                agent,
                queue,
                ..
            } => Some((
                agent,
                Frame::Assigned {
                    contact_id: *contact,
                    queue: queue.clone(),
                },
            )),
            EventKind::ContactEnded {
                contact,
                agent,
                wrap_up_until,
                ..
            } => Some((
                agent,
                Frame::Ended {
                    contact_id: *contact,
                    wrap_up_until: *wrap_up_until,
                },
            )),
            EventKind::ContactCompleted { contact, agent, .. } => Some((
                agent,
                Frame::Completed {
                    contact_id: *contact,
                },
            )),
            EventKind::AgentPresenceChanged { agent, presence } => Some((
                agent,
                Frame::State {
                    presence: presence.clone(),
                },
            )),
            _ => None,
        };
        self.count(e);
        if let Some((agent, frame)) = frame {
            self.push(agent, frame);
        }
    }

    /// Before an offer is applied: its contact's card if this instance has none (read back
    /// from its `contact_queued` event), the greeting scripts and the agent's profile, each
    /// read from the store unless cached (a write through this instance clears the cache, see
    /// [`Consoles::config_changed`]; one through another instance shows within 30 s).
    pub async fn load_for_offer(&self, store: &Store, contact: ContactId, agent: &AgentId) {
        if self.card(contact).is_none() {
            if let Some(card) = queued_card(store, contact).await {
                self.remember_card(contact, card);
            }
        }
        let scripts_fresh = lock(&self.config)
            .scripts
            .as_ref()
            .is_some_and(|(at, _)| fresh(*at));
        if !scripts_fresh {
            let (read, generation) = (Instant::now(), lock(&self.config).generation);
            if let Ok(stored) = store.list::<GreetingScript>().await {
                let scripts = Arc::new(stored.into_iter().map(|v| v.doc).collect());
                let mut cache = lock(&self.config);
                if cache.generation == generation {
                    cache.scripts = Some((read, scripts));
                }
            }
        }
        self.profile(store, agent).await;
    }

    async fn profile(&self, store: &Store, agent: &AgentId) -> Option<Arc<Agent>> {
        if let Some((at, a)) = lock(&self.config).agents.get(agent) {
            if fresh(*at) {
                return a.clone();
            }
        }
        let (read, generation) = (Instant::now(), lock(&self.config).generation);
        let profile = store
            .get::<Agent>(agent.as_str())
            .await
            .ok()?
            .map(|v| Arc::new(v.doc));
        let mut cache = lock(&self.config);
        if cache.generation == generation {
            cache.agents.insert(agent.clone(), (read, profile.clone()));
        }
        profile
    }

    /// The queue's greeting for this contact's language (else the default script), with the
    /// company, the agent and the customer filled in; `None` without a script.
    fn greeting(
        &self,
        agent: &AgentId,
        queue: &str,
        card: Option<&CustomerCard>,
    ) -> Option<String> {
        let (scripts, profile) = {
            let cache = lock(&self.config);
            let scripts = cache.scripts.as_ref()?.1.clone();
            let profile = cache.agents.get(agent).and_then(|(_, p)| p.clone());
            (scripts, profile)
        };
        render_greeting(
            &scripts,
            &self.company,
            agent,
            profile.as_deref(),
            queue,
            card,
        )
    }

    /// The agent's own figures: handled today and average handle time (the stats' per-agent
    /// counts), occupancy today, and the contacts waiting in the queues the engine has them
    /// serve (how many, the longest wait).
    pub async fn figures(&self, dispatcher: &AnyBackend, agent: &AgentId, now: Timestamp) -> Frame {
        let (handled, occupancy, aht) = match lock(&self.time).get(agent) {
            Some(t) => (t.handled(now).0, t.occupancy(now), t.aht_ms(now)),
            None => (0, None, None),
        };
        let (mut waiting, mut longest_ms) = (0u32, 0u64);
        for queue in dispatcher.agent_queues(agent).await.unwrap_or_default() {
            let cached = lock(&self.queue_figures)
                .get(&queue)
                .filter(|(at, _, _)| at.elapsed() < QUEUE_FIGURES_TTL)
                .map(|&(_, w, l)| (w, l));
            let figures = match cached {
                Some(f) => Some(f),
                None => match dispatcher.queue_snapshot(&queue, now).await {
                    Ok(Some(s)) => {
                        let f = (s.waiting, s.longest_wait.as_millis() as u64);
                        lock(&self.queue_figures).insert(queue, (Instant::now(), f.0, f.1));
                        Some(f)
                    }
                    _ => None,
                },
            };
            if let Some((w, l)) = figures {
                waiting += w;
                longest_ms = longest_ms.max(l);
            }
        }
        Frame::Stats(Figures {
            handled_today: handled,
            occupancy_today: occupancy,
            average_handle_time_ms: aht,
            waiting_in_my_queues: waiting,
            longest_wait_ms: longest_ms,
        })
    }
}

/// The first frame of a console that does not resume: the agent's profile and state.
pub async fn hello(store: &Store, dispatcher: &AnyBackend, agent: &AgentId) -> Frame {
    let profile = store
        .get::<Agent>(agent.as_str())
        .await
        .ok()
        .flatten()
        .map(|v| v.doc);
    let status = dispatcher.agent_status(agent).await.ok().flatten();
    Frame::Hello {
        agent: agent.clone(),
        display_name: profile.as_ref().map(|p| p.display_name.clone()),
        number: profile.as_ref().map(|p| p.number.clone()),
        status,
    }
}

/// The card of a contact queued before this instance followed the events (it joined the
/// others or restarted since), read back from its `contact_queued` event (and its
/// `callback_requested`, if it became a callback).
async fn queued_card(store: &Store, contact: ContactId) -> Option<CustomerCard> {
    let first = |kind: &str| EventFilter {
        contact: Some(contact),
        kind: Some(kind.into()),
        limit: 1,
        ..EventFilter::default()
    };
    let mut card = match store.events(&first("contact_queued")).await {
        Ok(events) => CustomerCard::of(events.first()?).map(|(_, card)| card)?,
        Err(e) => {
            tracing::warn!(%contact, error = %e, "could not read the contact's data for its offer");
            return None;
        }
    };
    match store.events(&first("callback_requested")).await {
        Ok(events) => {
            if let Some(EventKind::CallbackRequested { number, due, .. }) =
                events.into_iter().next().map(|e| e.kind)
            {
                card.became_callback(CallbackPromise { number, due });
            }
        }
        Err(e) => {
            tracing::warn!(%contact, error = %e, "could not read the contact's callback for its offer");
        }
    }
    Some(card)
}

/// The queue's script for the contact's language (else the default script) with `{company}`,
/// `{agent_name}`, `{agent_number}`, `{customer_name}`, `{customer_tier}`, `{queue}` and
/// `{language}` filled in.
pub fn render_greeting(
    scripts: &[GreetingScript],
    company: &str,
    agent: &AgentId,
    profile: Option<&Agent>,
    queue: &str,
    card: Option<&CustomerCard>,
) -> Option<String> {
    let language = card
        .and_then(|c| c.attributes.get("language"))
        .map(String::as_str)
        .unwrap_or("en");
    let rank = |s: &GreetingScript| {
        let queue_match = s.queue.as_ref().map(|q| q.as_str() == queue);
        let lang_match =
            s.language == language || language.starts_with(&format!("{}-", s.language));
        match (queue_match, lang_match) {
            (Some(true), true) => 0,
            (None, true) => 1,
            (Some(true), false) => 2,
            (None, false) => 3,
            (Some(false), _) => 9,
        }
    };
    let script = scripts
        .iter()
        .filter(|s| rank(s) < 9)
        .min_by_key(|s| rank(s))?;
    let attr = |k: &str| card.and_then(|c| c.attributes.get(k)).cloned();
    let values = [
        ("company", company.to_owned()),
        (
            "agent_name",
            profile.map_or_else(|| agent.to_string(), |p| p.display_name.clone()),
        ),
        (
            "agent_number",
            profile.map_or_else(String::new, |p| p.number.clone()),
        ),
        ("customer_name", attr("customer_name").unwrap_or_default()),
        (
            "customer_tier",
            card.map(|c| c.tier.as_str().to_owned()).unwrap_or_default(),
        ),
        ("queue", queue.to_owned()),
        ("language", language.to_owned()),
    ];
    let mut text = script.template.clone();
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), &value);
    }
    // A greeting with an empty name reads badly: "How can I help you, ?" → "How can I help you?"
    Some(text.replace(", ?", "?").replace(" ,", ","))
}

#[cfg(test)]
mod tests {
    use switchboard_domain::{EventId, Presence};

    use super::*;

    fn contact() -> ContactId {
        "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap()
    }

    fn event(id: u64, kind: EventKind) -> Event {
        Event {
            id: EventId(id),
            at: Timestamp::from_millis(1_000 * id as i64),
            kind,
        }
    }

    fn frames(consoles: &Consoles, agent: &AgentId, after: u64) -> Vec<Stamped<Frame>> {
        consoles
            .after(agent, after)
            .iter()
            .map(|(_, m)| serde_json::from_str(m).unwrap())
            .collect()
    }

    #[test]
    fn an_offer_shows_the_card_remembered_from_queued_and_the_outbox_resumes_exactly() {
        let consoles = Consoles::new("Acme");
        let ann = AgentId::parse("ann").unwrap();
        let sales = QueueId::parse("sales").unwrap();
        let mut attributes = BTreeMap::new();
        attributes.insert("customer_name".to_owned(), "Zoe".to_owned());
        consoles.apply(&event(
            1,
            EventKind::ContactQueued {
                contact: contact(),
                queue: sales.clone(),
                channel: Channel::Voice,
                tier: Tier::Gold,
                attributes: attributes.clone(),
                priority: Default::default(),
                arrived_at: Timestamp::from_millis(1_000),
            },
        ));
        consoles.apply(&event(
            2,
            EventKind::ContactOffered {
                contact: contact(),
                queue: sales.clone(),
                agent: ann.clone(),
                deadline: Timestamp::from_millis(30_000),
            },
        ));
        consoles.apply(&event(
            3,
            EventKind::AgentPresenceChanged {
                agent: ann.clone(),
                presence: Presence::Available,
            },
        ));
        let sent = frames(&consoles, &ann, 0);
        match &sent[..] {
            [Stamped {
                seq: 1,
                frame:
                    Frame::Offer {
                        channel: Some(Channel::Voice),
                        tier: Some(Tier::Gold),
                        data: Some(data),
                        greeting: None,
                        ..
                    },
                ..
            }, Stamped {
                seq: 2,
                frame: Frame::State { .. },
                ..
            }] => assert_eq!(data, &attributes),
            other => panic!("unexpected frames: {other:?}"),
        }
        // A console that saw seq 1 resumes with exactly seq 2.
        assert!(consoles.can_resume(&ann, 1));
        assert_eq!(consoles.after(&ann, 1).len(), 1);
        assert!(!consoles.can_resume(&ann, 3), "a seq never sent");
    }

    #[test]
    fn a_callback_requested_before_or_after_the_card_is_known_is_on_the_card() {
        let consoles = Consoles::default();
        let sales = QueueId::parse("sales").unwrap();
        let queued = event(
            2,
            EventKind::ContactQueued {
                contact: contact(),
                queue: sales.clone(),
                channel: Channel::Voice,
                tier: Tier::Standard,
                priority: Default::default(),
                arrived_at: Timestamp::from_millis(1_000),
                attributes: BTreeMap::new(),
            },
        );
        let requested = event(
            3,
            EventKind::CallbackRequested {
                contact: contact(),
                queue: sales,
                number: "+15550100".into(),
                due: Some(Timestamp::from_millis(60_000)),
            },
        );
        let promise = Some(CallbackPromise {
            number: "+15550100".into(),
            due: Some(Timestamp::from_millis(60_000)),
        });
        consoles.count(&queued);
        consoles.count(&requested);
        let card = consoles.card(contact()).unwrap();
        assert_eq!(
            (card.channel, &card.callback),
            (Channel::Callback, &promise)
        );
        // Seen before its card (queued before this instance followed): kept for the card.
        let later = Consoles::default();
        later.count(&requested);
        assert!(later.card(contact()).is_none());
        let (_, card) = CustomerCard::of(&queued).unwrap();
        later.remember_card(contact(), card);
        assert_eq!(later.card(contact()).unwrap().callback, promise);
    }

    #[test]
    fn the_greeting_fills_in_the_agent_and_the_customer() {
        let script: GreetingScript = serde_json::from_value(serde_json::json!({
            "script_id": "default", "language": "en",
            "template": "{company}, {agent_name} speaking. How can I help you, {customer_name}?"
        }))
        .unwrap();
        let ann = AgentId::parse("ann").unwrap();
        let nameless = render_greeting(
            std::slice::from_ref(&script),
            "Acme",
            &ann,
            None,
            "sales",
            None,
        );
        assert_eq!(
            nameless.as_deref(),
            Some("Acme, ann speaking. How can I help you?")
        );
        let card = CustomerCard {
            channel: Channel::Voice,
            tier: Tier::Standard,
            attributes: [("customer_name".to_owned(), "Zoe".to_owned())].into(),
            callback: None,
        };
        let named = render_greeting(&[script], "Acme", &ann, None, "sales", Some(&card));
        assert_eq!(
            named.as_deref(),
            Some("Acme, ann speaking. How can I help you, Zoe?")
        );
    }

    #[test]
    fn figures_supersede_each_other_and_never_crowd_out_what_must_be_replayed() {
        let figures = || {
            Frame::Stats(Figures {
                handled_today: 1,
                occupancy_today: None,
                average_handle_time_ms: None,
                waiting_in_my_queues: 0,
                longest_wait_ms: 0,
            })
        };
        let mut o = Outbox::default();
        let offer = o.push(Frame::Offer {
            contact_id: contact(),
            queue: QueueId::parse("sales").unwrap(),
            deadline: Timestamp::from_millis(0),
            channel: None,
            tier: None,
            callback: None,
            data: None,
            greeting: None,
        });
        for _ in 0..5_000 {
            o.push(figures());
        }
        // The offer and one (the latest) figures message: an idle console does not grow.
        let sent: Vec<Stamped<Frame>> = o
            .messages
            .iter()
            .map(|(_, m)| serde_json::from_str(m).unwrap())
            .collect();
        assert!(matches!(
            sent[..],
            [
                Stamped {
                    seq: 1,
                    frame: Frame::Offer { .. },
                    ..
                },
                Stamped {
                    seq: 5001,
                    frame: Frame::Stats(_),
                    ..
                },
            ]
        ));
        assert_eq!(o.dropped_upto, 0, "nothing lost: any console may resume");
        assert_eq!(o.messages.front().map(|m| m.0), Some(offer));
        // Real messages beyond the room do push out the oldest.
        for _ in 0..OUTBOX + 10 {
            o.push(Frame::State {
                presence: Presence::Available,
            });
        }
        assert_eq!(o.messages.len(), OUTBOX);
        assert!(o.dropped_upto > offer);
    }
}
