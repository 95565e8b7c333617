//! The fold from events to per-contact segments.

use std::collections::HashMap;

use serde::Serialize;
use switchboard_domain::{
    AgentId, Channel, ContactId, Event, EventKind, ExitReason, Presence, QueueId, Tier, Timestamp,
    TransferTarget, WithdrawReason, WrapUp,
};

/// How a queued segment began.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// `ContactQueued`: the contact's first arrival in the ACD.
    Arrived,
    /// `ContactOverflowed` into this queue.
    Overflowed { from_queue: QueueId },
    /// `ContactTransferred` into this queue. A transfer to a named agent re-enters the
    /// contact in the queue it came from (`to_agent` set): it is a new segment of that queue.
    Transferred {
        from_queue: QueueId,
        from_agent: Option<AgentId>,
        to_agent: Option<AgentId>,
    },
    /// The entry happened before the first event folded; `entered_at` was reconstructed from
    /// the `waited_ms` of the `OfferAccepted` / `ContactAbandoned` that ended the segment.
    Unseen,
}

/// How a queued segment ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QueueOutcome {
    /// `OfferAccepted`.
    Answered { agent: AgentId },
    /// `ContactAbandoned`: the customer hung up while waiting or while it rang.
    Abandoned,
    /// `ContactExited`: left unserved (waited the maximum, or nobody to serve the queue).
    Exited { reason: ExitReason },
    /// `ContactOverflowed` to another queue.
    Overflowed { to_queue: QueueId },
    /// `ContactTransferred` away before anyone answered.
    Transferred { to: TransferTarget },
}

/// What became of one offer (one `ContactOffered`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferOutcome {
    Accepted,
    Rejected,
    /// The agent let it ring out (`OfferTimedOut`): a missed offer.
    TimedOut,
    Withdrawn(WithdrawReason),
}

/// One offer of a queued segment to an agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Offer {
    pub agent: AgentId,
    pub at: Timestamp,
    /// `None` while it still rings (at the last event folded).
    pub outcome: Option<OfferOutcome>,
}

/// A contact's stay in one queue: from entering it to being answered or leaving it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueuedSegment {
    pub contact: ContactId,
    pub queue: QueueId,
    /// The contact's channel when it entered this queue; `None` when its `ContactQueued` was
    /// not among the events folded.
    pub channel: Option<Channel>,
    pub tier: Option<Tier>,
    pub entry: Entry,
    pub entered_at: Timestamp,
    /// `None` while it still waits (or rings).
    pub outcome: Option<QueueOutcome>,
    /// When the outcome happened.
    pub ended_at: Option<Timestamp>,
    /// Time waited: the event's own `waited_ms` for answers and abandons, `ended − entered`
    /// for the other outcomes, `None` while it still waits (see [`QueuedSegment::wait_ms`]).
    pub waited_ms: Option<u64>,
    /// The caller asked to be called back while waiting here (`CallbackRequested`).
    pub callback_requested: bool,
    pub offers: Vec<Offer>,
}

impl QueuedSegment {
    /// The wait so far: the final wait once ended, else `now − entered` (0 if `now` is earlier).
    pub fn wait_ms(&self, now: Timestamp) -> u64 {
        self.waited_ms
            .unwrap_or_else(|| ms(now.since(self.entered_at)))
    }

    /// The agent who answered this segment, if it was answered.
    pub fn answered_by(&self) -> Option<&AgentId> {
        match &self.outcome {
            Some(QueueOutcome::Answered { agent }) => Some(agent),
            _ => None,
        }
    }
}

/// A contact's handling by one agent: from the accept to the end of wrap-up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HandledSegment {
    pub contact: ContactId,
    pub agent: AgentId,
    pub queue: QueueId,
    pub channel: Option<Channel>,
    pub tier: Option<Tier>,
    /// Index in [`Segments::queued`] of the queued segment this one answered.
    pub queued: usize,
    /// When that queued segment entered its queue: the instant that places this handling in a
    /// report range or an interval (so a wrap-up after midnight stays with its contact).
    pub entered_at: Timestamp,
    pub answered_at: Timestamp,
    /// Completed holds, in ms.
    pub hold_ms: u64,
    /// Completed holds, `(held, resumed)`, for splitting hold time across intervals.
    pub holds: Vec<(Timestamp, Timestamp)>,
    /// Start of the hold in progress.
    pub held_since: Option<Timestamp>,
    /// `ContactEnded`: the conversation is over (for a transfer, the agent's part of it).
    pub ended_at: Option<Timestamp>,
    /// `ContactCompleted`: wrap-up done.
    pub completed_at: Option<Timestamp>,
    pub wrap_up: Option<WrapUp>,
    /// The agent transferred the contact away (`ContactTransferred` with `from_agent`).
    pub transferred: bool,
}

impl HandledSegment {
    /// Hold time: every `ContactHeld → ContactResumed`, a hold still open counting up to the
    /// end of the conversation (or `now` while it lasts).
    pub fn hold_ms(&self, now: Timestamp) -> u64 {
        let open = self
            .held_since
            .map_or(0, |h| ms(self.ended_at.unwrap_or(now).since(h)));
        self.hold_ms.saturating_add(open)
    }

    /// Talk time: `answered → ContactEnded` (or `now` while it lasts) minus hold.
    pub fn talk_ms(&self, now: Timestamp) -> u64 {
        let end = self.ended_at.unwrap_or(now);
        ms(end.since(self.answered_at)).saturating_sub(self.hold_ms(now))
    }

    /// Wrap-up time: `ContactEnded → ContactCompleted` (or `now` while it lasts); 0 before
    /// the conversation ended.
    pub fn wrap_up_ms(&self, now: Timestamp) -> u64 {
        match self.ended_at {
            Some(end) => ms(self.completed_at.unwrap_or(now).since(end)),
            None => 0,
        }
    }

    fn close_hold(&mut self, since: Timestamp, at: Timestamp) {
        self.hold_ms = self.hold_ms.saturating_add(ms(at.since(since)));
        self.holds.push((since, at.max(since)));
    }

    pub fn is_completed(&self) -> bool {
        self.completed_at.is_some()
    }

    /// The disposition recorded at wrap-up.
    pub fn disposition(&self) -> Option<&str> {
        self.wrap_up.as_ref()?.disposition.as_deref()
    }

    /// The agent's word at wrap-up that the issue was solved.
    pub fn resolved(&self) -> Option<bool> {
        self.wrap_up.as_ref()?.resolved
    }
}

/// A contact the queue refused to admit (`ContactRefused`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub contact: ContactId,
    pub queue: QueueId,
    pub at: Timestamp,
    pub reason: ExitReason,
}

/// A stretch of an agent's logged-in time in one presence (available, or away with a
/// reason), from `AgentPresenceChanged` events. Logged-out time has no span.
///
/// A change to the presence the agent already has (a duplicate login, a second console
/// signing in) continues the span; a change to another presence ends it and starts the next
/// one at the same instant; a logout ends it. An agent's spans never overlap: a span never
/// starts before the agent's previous span ended, whatever the order of the events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PresenceSpan {
    pub agent: AgentId,
    /// Never [`Presence::Offline`].
    pub presence: Presence,
    pub start: Timestamp,
    /// `None` while it lasts (at the last event folded).
    pub end: Option<Timestamp>,
}

/// A callback promise: `CallbackRequested` (the `CallbackInPlace` command) promised the
/// caller that an agent would call back; it is kept when the contact is next answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallbackPromise {
    pub contact: ContactId,
    /// The queue the contact waited in when the callback was requested.
    pub queue: QueueId,
    pub requested_at: Timestamp,
    /// The time promised in the request, if any (else the report's `callback_due` after
    /// `requested_at`).
    pub due: Option<Timestamp>,
    /// The first `OfferAccepted` of the contact after the request.
    pub answered_at: Option<Timestamp>,
    pub answered_by: Option<AgentId>,
    /// The contact left the ACD unanswered (`ContactAbandoned`, `ContactExited`): the
    /// promise can no longer be kept.
    pub dropped_at: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, Default)]
struct ContactInfo {
    channel: Option<Channel>,
    tier: Option<Tier>,
    /// The queued segment it waits in now.
    waiting: Option<usize>,
}

/// Every segment built from a sequence of events, in the order they began.
///
/// Folding is total: any event in any order is accepted, and what does not fit (a hold of a
/// contact nobody answered in the events seen, a second `ContactQueued` of a waiting contact)
/// is counted in [`Segments::ignored`] and otherwise skipped. Contacts that began before the
/// first event folded get a queued segment only when the event that ends it carries the wait
/// (`OfferAccepted`, `ContactAbandoned`), which lets the entry be reconstructed; fold from a
/// little before a report's range (e.g. a day) so that every contact entering in the range is
/// seen whole. Nothing needs an end: segments still open are "in progress" and measured up to
/// the `now` a report is asked for.
#[derive(Clone, Debug, Default)]
pub struct Segments {
    queued: Vec<QueuedSegment>,
    handled: Vec<HandledSegment>,
    refused: Vec<Refusal>,
    contacts: HashMap<ContactId, ContactInfo>,
    /// Handled segments not yet completed, per contact (a few at most).
    open_handled: HashMap<ContactId, Vec<usize>>,
    presence: Vec<PresenceSpan>,
    /// Per agent: the open span, or when the last one ended.
    agents: HashMap<AgentId, AgentInfo>,
    callbacks: Vec<CallbackPromise>,
    open_callbacks: HashMap<ContactId, usize>,
    ignored: u64,
}

#[derive(Clone, Copy, Debug)]
enum AgentInfo {
    In(usize),
    OutSince(Timestamp),
}

impl Segments {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds `events` (in the order they were emitted).
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut s = Self::new();
        for e in events {
            s.apply(e);
        }
        s
    }

    pub fn queued(&self) -> &[QueuedSegment] {
        &self.queued
    }

    pub fn handled(&self) -> &[HandledSegment] {
        &self.handled
    }

    pub fn refused(&self) -> &[Refusal] {
        &self.refused
    }

    /// Agents' logged-in time, span by span, in the order the spans began.
    pub fn presence(&self) -> &[PresenceSpan] {
        &self.presence
    }

    /// Callback promises, in the order they were made.
    pub fn callbacks(&self) -> &[CallbackPromise] {
        &self.callbacks
    }

    /// Whether `contact` has anything still open at the last event: a queued segment
    /// waiting, a handling not completed, or a callback promise neither kept nor dropped.
    pub fn is_open(&self, contact: ContactId) -> bool {
        self.waiting(contact).is_some()
            || self.open_handled.contains_key(&contact)
            || self.open_callbacks.contains_key(&contact)
    }

    /// The presence spans still open at the last event (agents logged in), by agent.
    pub fn open_presence(&self) -> impl Iterator<Item = &PresenceSpan> {
        let mut open: Vec<&PresenceSpan> = self
            .agents
            .values()
            .filter_map(|info| match info {
                AgentInfo::In(i) => Some(&self.presence[*i]),
                AgentInfo::OutSince(_) => None,
            })
            .collect();
        open.sort_by(|a, b| a.agent.cmp(&b.agent));
        open.into_iter()
    }

    /// Events that fitted no segment (see the type's documentation).
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// Folds one more event.
    pub fn apply(&mut self, event: &Event) {
        let at = event.at;
        match &event.kind {
            EventKind::PriorityChanged { .. } => {}
            EventKind::AgentPresenceChanged { agent, presence } => {
                self.presence_changed(agent, presence, at)
            }
            EventKind::ContactQueued {
                contact,
                queue,
                channel,
                tier,
                ..
            } => {
                let info = self.contacts.entry(*contact).or_default();
                if info.waiting.is_some() {
                    self.ignored += 1;
                    return;
                }
                info.channel = Some(*channel);
                info.tier = Some(*tier);
                self.enter(*contact, queue.clone(), Entry::Arrived, at);
            }
            EventKind::ContactRefused {
                contact,
                queue,
                reason,
            } => self.refused.push(Refusal {
                contact: *contact,
                queue: queue.clone(),
                at,
                reason: *reason,
            }),
            EventKind::ContactOffered { contact, agent, .. } => match self.waiting(*contact) {
                Some(i) => self.queued[i].offers.push(Offer {
                    agent: agent.clone(),
                    at,
                    outcome: None,
                }),
                None => self.ignored += 1,
            },
            EventKind::OfferAccepted {
                contact,
                queue,
                agent,
                waited_ms,
            } => {
                let i = self.waiting_or_reconstructed(*contact, queue, at, *waited_ms);
                self.settle_offer(i, agent, OfferOutcome::Accepted);
                if let Some(p) = self.open_callbacks.remove(contact) {
                    self.callbacks[p].answered_at = Some(at);
                    self.callbacks[p].answered_by = Some(agent.clone());
                }
                self.close(
                    i,
                    QueueOutcome::Answered {
                        agent: agent.clone(),
                    },
                    at,
                    Some(*waited_ms),
                );
                let q = &self.queued[i];
                let segment = HandledSegment {
                    contact: *contact,
                    agent: agent.clone(),
                    queue: q.queue.clone(),
                    channel: q.channel,
                    tier: q.tier,
                    queued: i,
                    entered_at: q.entered_at,
                    answered_at: at,
                    hold_ms: 0,
                    holds: Vec::new(),
                    held_since: None,
                    ended_at: None,
                    completed_at: None,
                    wrap_up: None,
                    transferred: false,
                };
                self.open_handled
                    .entry(*contact)
                    .or_default()
                    .push(self.handled.len());
                self.handled.push(segment);
            }
            EventKind::OfferRejected { contact, agent, .. } => {
                self.settle_waiting_offer(*contact, agent, OfferOutcome::Rejected)
            }
            EventKind::OfferTimedOut { contact, agent, .. } => {
                self.settle_waiting_offer(*contact, agent, OfferOutcome::TimedOut)
            }
            EventKind::OfferWithdrawn {
                contact,
                agent,
                reason,
                ..
            } => self.settle_waiting_offer(*contact, agent, OfferOutcome::Withdrawn(*reason)),
            EventKind::ContactAbandoned {
                contact,
                queue,
                waited_ms,
            } => {
                let i = self.waiting_or_reconstructed(*contact, queue, at, *waited_ms);
                self.close(i, QueueOutcome::Abandoned, at, Some(*waited_ms));
                self.drop_callback(*contact, at);
            }
            EventKind::ContactHeld { contact, agent } => match self.talking(*contact, agent) {
                Some(h) if self.handled[h].held_since.is_none() => {
                    self.handled[h].held_since = Some(at)
                }
                _ => self.ignored += 1,
            },
            EventKind::ContactResumed { contact, agent } => match self.talking(*contact, agent) {
                Some(h) if self.handled[h].held_since.is_some() => {
                    let seg = &mut self.handled[h];
                    let since = seg.held_since.take().unwrap_or(at);
                    seg.close_hold(since, at);
                }
                _ => self.ignored += 1,
            },
            EventKind::ContactTransferred {
                contact,
                from_queue,
                from_agent,
                to,
            } => {
                match from_agent {
                    None => match self.waiting(*contact) {
                        Some(i) => {
                            self.close(i, QueueOutcome::Transferred { to: to.clone() }, at, None)
                        }
                        None => self.ignored += 1,
                    },
                    Some(agent) => match self.talking(*contact, agent) {
                        Some(h) => self.handled[h].transferred = true,
                        None => self.ignored += 1,
                    },
                }
                let (queue, to_agent) = match to {
                    TransferTarget::Queue(q) => (q.clone(), None),
                    TransferTarget::Agent(a) => (from_queue.clone(), Some(a.clone())),
                };
                let entry = Entry::Transferred {
                    from_queue: from_queue.clone(),
                    from_agent: from_agent.clone(),
                    to_agent,
                };
                self.enter(*contact, queue, entry, at);
            }
            EventKind::ContactOverflowed {
                contact,
                from_queue,
                to_queue,
            } => {
                match self.waiting(*contact) {
                    Some(i) => self.close(
                        i,
                        QueueOutcome::Overflowed {
                            to_queue: to_queue.clone(),
                        },
                        at,
                        None,
                    ),
                    None => self.ignored += 1,
                }
                let entry = Entry::Overflowed {
                    from_queue: from_queue.clone(),
                };
                self.enter(*contact, to_queue.clone(), entry, at);
            }
            EventKind::ContactExited {
                contact, reason, ..
            } => {
                match self.waiting(*contact) {
                    Some(i) => self.close(i, QueueOutcome::Exited { reason: *reason }, at, None),
                    None => self.ignored += 1,
                }
                self.drop_callback(*contact, at);
            }
            EventKind::CallbackRequested {
                contact,
                queue,
                due,
                ..
            } => {
                if !self.open_callbacks.contains_key(contact) {
                    self.open_callbacks.insert(*contact, self.callbacks.len());
                    self.callbacks.push(CallbackPromise {
                        contact: *contact,
                        queue: queue.clone(),
                        requested_at: at,
                        due: *due,
                        answered_at: None,
                        answered_by: None,
                        dropped_at: None,
                    });
                }
                let info = self.contacts.entry(*contact).or_default();
                info.channel = Some(Channel::Callback);
                match info.waiting {
                    Some(i) => self.queued[i].callback_requested = true,
                    None => self.ignored += 1,
                }
            }
            EventKind::ContactEnded { contact, agent, .. } => match self.talking(*contact, agent) {
                Some(h) => {
                    let seg = &mut self.handled[h];
                    if let Some(since) = seg.held_since.take() {
                        seg.close_hold(since, at);
                    }
                    seg.ended_at = Some(at);
                }
                None => self.ignored += 1,
            },
            EventKind::ContactCompleted {
                contact,
                queue,
                agent,
                wrap_up,
            } => {
                // The agent's oldest wrap-up of this contact in the event's queue, else its
                // oldest at all (an agent may hold two: before transferring it away and
                // after getting it back).
                let open = self.open_handled.get_mut(contact);
                let found = open.and_then(|list| {
                    let wraps_up = |h: usize| {
                        let s = &self.handled[h];
                        s.agent == *agent && s.ended_at.is_some()
                    };
                    let pos = list
                        .iter()
                        .position(|&h| wraps_up(h) && self.handled[h].queue == *queue)
                        .or_else(|| list.iter().position(|&h| wraps_up(h)))?;
                    Some(list.remove(pos))
                });
                match found {
                    Some(h) => {
                        let seg = &mut self.handled[h];
                        seg.completed_at = Some(at);
                        seg.wrap_up = Some(wrap_up.clone());
                    }
                    None => self.ignored += 1,
                }
                if self.open_handled.get(contact).is_some_and(Vec::is_empty) {
                    self.open_handled.remove(contact);
                }
            }
        }
    }

    fn presence_changed(&mut self, agent: &AgentId, presence: &Presence, at: Timestamp) {
        let info = self.agents.get(agent).copied();
        let since = match info {
            Some(AgentInfo::In(i)) => {
                let span = &mut self.presence[i];
                if span.presence == *presence {
                    return; // logged in twice, or the same away reason again
                }
                let end = at.max(span.start);
                span.end = Some(end);
                end
            }
            Some(AgentInfo::OutSince(t)) => t,
            None => at,
        };
        if !presence.is_logged_in() {
            self.agents
                .insert(agent.clone(), AgentInfo::OutSince(since));
            return;
        }
        self.agents
            .insert(agent.clone(), AgentInfo::In(self.presence.len()));
        self.presence.push(PresenceSpan {
            agent: agent.clone(),
            presence: presence.clone(),
            start: at.max(since),
            end: None,
        });
    }

    fn drop_callback(&mut self, contact: ContactId, at: Timestamp) {
        if let Some(p) = self.open_callbacks.remove(&contact) {
            self.callbacks[p].dropped_at = Some(at);
        }
    }

    fn waiting(&self, contact: ContactId) -> Option<usize> {
        self.contacts.get(&contact)?.waiting
    }

    /// The agent's handled segment of `contact` whose conversation has not ended.
    fn talking(&self, contact: ContactId, agent: &AgentId) -> Option<usize> {
        self.open_handled.get(&contact)?.iter().copied().find(|&h| {
            let s = &self.handled[h];
            s.agent == *agent && s.ended_at.is_none()
        })
    }

    fn enter(&mut self, contact: ContactId, queue: QueueId, entry: Entry, at: Timestamp) {
        let info = self.contacts.entry(contact).or_default();
        if info.waiting.take().is_some() {
            // Entering elsewhere without leaving: the old segment's end was never seen (it
            // stays open, counted as still waiting).
            self.ignored += 1;
        }
        let i = self.queued.len();
        info.waiting = Some(i);
        self.queued.push(QueuedSegment {
            contact,
            queue,
            channel: info.channel,
            tier: info.tier,
            entry,
            entered_at: at,
            outcome: None,
            ended_at: None,
            waited_ms: None,
            callback_requested: false,
            offers: Vec::new(),
        });
    }

    /// The contact's open queued segment, or one reconstructed from the wait an ending event
    /// reports.
    fn waiting_or_reconstructed(
        &mut self,
        contact: ContactId,
        queue: &QueueId,
        at: Timestamp,
        waited_ms: u64,
    ) -> usize {
        if let Some(i) = self.waiting(contact) {
            return i;
        }
        let entered = Timestamp::from_millis(
            at.as_millis()
                .saturating_sub(i64::try_from(waited_ms).unwrap_or(i64::MAX)),
        );
        self.enter(contact, queue.clone(), Entry::Unseen, entered);
        self.queued.len() - 1
    }

    fn close(&mut self, i: usize, outcome: QueueOutcome, at: Timestamp, waited: Option<u64>) {
        let seg = &mut self.queued[i];
        seg.waited_ms = Some(waited.unwrap_or_else(|| ms(at.since(seg.entered_at))));
        seg.outcome = Some(outcome);
        seg.ended_at = Some(at);
        // A contact still ringing when it leaves: the offer is over too.
        for o in seg.offers.iter_mut().filter(|o| o.outcome.is_none()) {
            o.outcome = Some(OfferOutcome::Withdrawn(WithdrawReason::Moved));
        }
        if let Some(info) = self.contacts.get_mut(&seg.contact) {
            if info.waiting == Some(i) {
                info.waiting = None;
            }
        }
    }

    fn settle_offer(&mut self, i: usize, agent: &AgentId, outcome: OfferOutcome) -> bool {
        match self.queued[i]
            .offers
            .iter_mut()
            .rev()
            .find(|o| o.agent == *agent && o.outcome.is_none())
        {
            Some(o) => {
                o.outcome = Some(outcome);
                true
            }
            None => false,
        }
    }

    fn settle_waiting_offer(&mut self, contact: ContactId, agent: &AgentId, outcome: OfferOutcome) {
        let settled = match self.waiting(contact) {
            Some(i) => self.settle_offer(i, agent, outcome),
            None => false,
        };
        if !settled {
            self.ignored += 1;
        }
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
