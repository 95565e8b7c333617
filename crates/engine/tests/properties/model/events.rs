//! Feeding events: each event of the engine moves the model, and is checked as it arrives —
//! rules 1 to 4 at an offer, rule 8 on every event, and each transition's preconditions.

use switchboard_domain::{
    AgentId, Channel, ContactId, Event, EventKind, ExitReason, Presence, QueueId, Timestamp,
    TransferTarget, WaitExit,
};

use super::{ContactM, Model, Offer, Phase, Slot, State};

impl Model {
    pub(crate) fn on_event(&mut self, e: &Event) -> Result<(), String> {
        let (due, last) = (self.next_event, self.last_at);
        (self.next_event, self.last_at) = (e.id.0 + 1, e.at);
        check!(e.id.0 == due, "8: event id {} where {due} was due", e.id.0);
        check!(e.at >= last, "8: event at {} after one at {last}", e.at);
        let at = e.at;
        match &e.kind {
            EventKind::AgentPresenceChanged { agent, presence } => {
                let a = self.agent_mut(agent)?;
                a.presence = presence.clone();
                if *presence == Presence::Available {
                    a.misses = 0;
                }
            }
            EventKind::ContactQueued {
                contact,
                queue,
                channel,
                priority,
                arrived_at,
                ..
            } => {
                check!(
                    !self.contacts.contains_key(contact) && !self.refused.contains(contact),
                    "1: {contact} queued twice"
                );
                check!(
                    *arrived_at == at,
                    "{contact} arrived at {arrived_at}, queued at {at}"
                );
                let own = self.own_skills.remove(contact).unwrap_or_default();
                let c = ContactM {
                    queue: queue.clone(),
                    channel: *channel,
                    own,
                    priority: *priority,
                    arrived_at: at,
                    entered_at: at,
                    state: State::Queued { target: None },
                };
                self.contacts.insert(*contact, c);
            }
            EventKind::ContactRefused {
                contact,
                queue,
                reason,
            } => {
                let shut = !self.queues[queue].join_when_empty && !self.anyone_logged_in(queue);
                check!(
                    *reason == ExitReason::NoAgents && shut,
                    "{contact} refused by {queue} ({reason:?}) though it admits contacts"
                );
                self.own_skills.remove(contact);
                self.refused.insert(*contact);
            }
            EventKind::ContactOffered {
                contact,
                queue,
                agent,
                deadline,
            } => self.on_offered(*contact, queue, agent, *deadline, at)?,
            EventKind::OfferAccepted {
                contact,
                agent,
                waited_ms,
                ..
            } => {
                let answering = self.answering.as_ref() == Some(&(*contact, agent.clone()));
                let c = self.live(contact)?;
                let direct = match &c.state {
                    State::Offered { agent: a, .. } if a == agent => false,
                    // Picked up outside an offer (`Answer`): straight from the line.
                    State::Queued { .. } if answering => true,
                    other => return Err(format!("{contact} accepted by {agent} while {other:?}")),
                };
                let waited = at.since(c.entered_at).as_millis() as u64;
                check!(
                    *waited_ms == waited,
                    "{contact} waited {waited} ms, not {waited_ms}"
                );
                c.state = State::Assigned(agent.clone());
                let channel = c.channel;
                let a = self.agent_mut(agent)?;
                a.misses = 0;
                if direct {
                    check!(
                        a.presence.is_logged_in() && a.has_room(channel),
                        "1: {contact} answered by {agent}, who has no room"
                    );
                    a.slots.push(Slot {
                        contact: *contact,
                        channel,
                        phase: Phase::Active,
                    });
                } else {
                    a.set_phase(*contact, Phase::Active)?;
                }
            }
            EventKind::OfferRejected { contact, agent, .. } => {
                let q = self.offer_back(contact, agent)?;
                let delay = self.queues[&q].reject_delay;
                self.agent_mut(agent)?.pause(at, delay);
            }
            EventKind::OfferTimedOut { contact, agent, .. } => {
                let deadline = match &self.live(contact)?.state {
                    State::Offered { deadline, .. } => *deadline,
                    other => return Err(format!("{contact} timed out while {other:?}")),
                };
                check!(
                    deadline == at,
                    "{contact}'s offer timed out at {at}, not {deadline}"
                );
                let q = self.offer_back(contact, agent)?;
                let (max, delay) = (
                    self.queues[&q].max_no_answer,
                    self.queues[&q].no_answer_delay,
                );
                let a = self.agent_mut(agent)?;
                a.misses += 1;
                // At the limit the agent is set away (its own event follows) and not delayed.
                if max == 0 || a.misses < max {
                    a.pause(at, delay);
                }
            }
            EventKind::OfferWithdrawn { contact, agent, .. } => {
                self.offer_back(contact, agent)?;
            }
            EventKind::ContactAbandoned {
                contact, waited_ms, ..
            } => {
                let c = self.live(contact)?;
                let waited = at.since(c.entered_at).as_millis() as u64;
                check!(
                    *waited_ms == waited,
                    "{contact} waited {waited} ms, not {waited_ms}"
                );
                self.leave(contact, "abandoned")?;
            }
            EventKind::ContactHeld { contact, agent } => {
                let c = self.live(contact)?;
                check!(
                    c.state == State::Assigned(agent.clone()),
                    "held while {:?}",
                    c.state
                );
                c.state = State::Held(agent.clone());
                self.agent_mut(agent)?.set_phase(*contact, Phase::Held)?;
            }
            EventKind::ContactResumed { contact, agent } => {
                let c = self.live(contact)?;
                check!(
                    c.state == State::Held(agent.clone()),
                    "resumed while {:?}",
                    c.state
                );
                c.state = State::Assigned(agent.clone());
                self.agent_mut(agent)?.set_phase(*contact, Phase::Active)?;
            }
            EventKind::ContactTransferred {
                contact,
                from_queue,
                from_agent,
                to,
            } => {
                let c = self.live(contact)?;
                check!(
                    &c.queue == from_queue,
                    "{contact} transferred from {from_queue}"
                );
                let handled = match from_agent {
                    Some(a) => {
                        [State::Assigned(a.clone()), State::Held(a.clone())].contains(&c.state)
                    }
                    None => matches!(c.state, State::Queued { .. }),
                };
                check!(
                    handled,
                    "{contact} transferred from {from_agent:?} while {:?}",
                    c.state
                );
                // The transferring agent's slot turns to wrap-up with the ContactEnded that follows.
                c.entered_at = at;
                c.state = match to {
                    TransferTarget::Queue(q) => {
                        c.queue = q.clone();
                        State::Queued { target: None }
                    }
                    TransferTarget::Agent(a) => State::Queued {
                        target: Some(a.clone()),
                    },
                };
            }
            EventKind::ContactOverflowed {
                contact,
                from_queue,
                to_queue,
            } => {
                let max = self.queues[from_queue].max_wait.clone();
                let c = self.live(contact)?;
                check!(
                    matches!(c.state, State::Queued { .. }) && &c.queue == from_queue,
                    "{contact} overflowed from {from_queue} while {:?} in {}",
                    c.state,
                    c.queue
                );
                let due = max.as_ref().map(|m| c.entered_at.plus(m.after));
                let target = max.map(|m| m.exit);
                check!(
                    due.is_some_and(|due| at >= due)
                        && target
                            == Some(WaitExit::Overflow {
                                queue: to_queue.clone()
                            }),
                    "{contact} overflowed to {to_queue} at {at}, entered {}",
                    c.entered_at
                );
                c.queue = to_queue.clone();
                c.entered_at = at;
                c.state = State::Queued { target: None };
            }
            EventKind::ContactExited {
                contact,
                queue,
                reason,
            } => {
                let allowed = match reason {
                    ExitReason::NoAgents => {
                        self.queues[queue].leave_when_empty && !self.anyone_logged_in(queue)
                    }
                    ExitReason::MaxWait => self.queues[queue].max_wait.is_some(),
                };
                check!(
                    allowed,
                    "{contact} exited {queue} ({reason:?}) without cause"
                );
                self.leave(contact, "exited")?;
            }
            EventKind::CallbackRequested { contact, .. } => {
                let c = self.live(contact)?;
                check!(
                    matches!(c.state, State::Queued { .. })
                        && matches!(c.channel, Channel::Voice | Channel::Chat),
                    "callback for {contact} while {:?} on {:?}",
                    c.state,
                    c.channel
                );
                c.channel = Channel::Callback;
            }
            EventKind::PriorityChanged { contact, priority } => {
                self.live(contact)?.priority = *priority;
            }
            EventKind::ContactEnded {
                contact,
                queue,
                agent,
                wrap_up_until,
            } => {
                let until = at.plus(self.queues[queue].wrap_up);
                check!(
                    *wrap_up_until == until,
                    "{contact}: wrap-up until {wrap_up_until}, not {until}"
                );
                let c = self.live(contact)?;
                if [State::Assigned(agent.clone()), State::Held(agent.clone())].contains(&c.state) {
                    c.state = State::WrapUp {
                        agent: agent.clone(),
                        until,
                    };
                } else {
                    check!(
                        matches!(c.state, State::Queued { .. }),
                        "{contact} ended by {agent} while {:?}",
                        c.state
                    );
                }
                self.agent_mut(agent)?
                    .set_phase(*contact, Phase::WrapUp(until))?;
            }
            EventKind::ContactCompleted { contact, agent, .. } => {
                // An agent may hold two wrap-ups of one contact (their part before transferring
                // it away, and after getting it back). The one due now ended (its timer), else
                // the oldest (the agent's word); the contact leaves with the last one.
                let a = self.agent_mut(agent)?;
                let ends = |s: &Slot| match s.phase {
                    Phase::WrapUp(until) if s.contact == *contact => Some(until),
                    _ => None,
                };
                let wrap_ups = a.slots.iter().enumerate();
                let wrap_ups =
                    wrap_ups.filter_map(|(i, s)| ends(s).map(|until| (until != at, until, i)));
                let Some((_, _, pos)) = wrap_ups.min() else {
                    return Err(format!(
                        "{contact} completed by {agent}, who has no wrap-up for it"
                    ));
                };
                a.slots.remove(pos);
                let last = !a.slots.iter().any(|s| ends(s).is_some());
                if let Some(c) = self.contacts.get_mut(contact) {
                    if last
                        && matches!(&c.state, State::WrapUp { agent: holder, .. } if holder == agent)
                    {
                        c.state = State::Gone("completed");
                    }
                }
            }
        }
        Ok(())
    }

    /// Rules 1, 2, 3 at the moment of an offer; rule 5's candidates are noted.
    fn on_offered(
        &mut self,
        id: ContactId,
        queue: &QueueId,
        agent: &AgentId,
        deadline: Timestamp,
        at: Timestamp,
    ) -> Result<(), String> {
        self.untarget_logged_out(Some(id));
        let Some(c) = self.contacts.get(&id) else {
            return Err(format!("unknown {id} offered to {agent}"));
        };
        let State::Queued { target } = &c.state else {
            return Err(format!("1: {id} offered to {agent} while {:?}", c.state));
        };
        check!(&c.queue == queue, "{id} of {} offered for {queue}", c.queue);
        let timeout = self.queues[queue].offer_timeout;
        check!(
            deadline == at.plus(timeout),
            "{id}: offer deadline {deadline}"
        );
        let Some(a) = self.agents.get(agent) else {
            return Err(format!("{id} offered to unknown {agent}"));
        };
        check!(
            a.ready(at),
            "4: {id} offered to {agent}, who is {:?} with a delay until {:?}",
            a.presence,
            a.delay_until
        );
        check!(
            a.has_room(c.channel),
            "2: {id} ({:?}) offered to {agent}, who has no room: {:?}",
            c.channel,
            a.slots
        );
        match target {
            Some(t) => check!(t == agent, "{id}, transferred to {t}, offered to {agent}"),
            None => {
                check!(
                    self.skills_ok(a, c, at),
                    "3: {id} offered to {agent} without the skills ({:?}, needs {:?} + {:?}, waited {:?})",
                    a.profile.skills,
                    self.queues[queue].required_skills,
                    c.own,
                    at.since(c.entered_at)
                );
                if !self.meets(a, c, None) {
                    self.expanded_offers += 1;
                }
            }
        }
        let mine = self.rank(c, at);
        let better = self.contacts.iter().filter(|&(&x, other)| {
            x != id && self.can_take(a, other, at) && self.rank(other, at) > mine
        });
        let better = better.map(|(&x, _)| x).collect();
        let channel = c.channel;
        // This contact is being served: earlier offers of the step did not pass it over.
        for o in &mut self.offers {
            o.better.retain(|&x| x != id);
        }
        self.offers.push(Offer {
            contact: id,
            agent: agent.clone(),
            at,
            better,
        });
        self.contacts.get_mut(&id).expect("checked").state = State::Offered {
            agent: agent.clone(),
            deadline,
        };
        self.agent_mut(agent)?.slots.push(Slot {
            contact: id,
            channel,
            phase: Phase::Offered,
        });
        Ok(())
    }

    /// An offer came back (rejected, missed, withdrawn): the contact waits in its queue again,
    /// for anyone (a transfer to a named agent falls back to the queue).
    fn offer_back(&mut self, id: &ContactId, agent: &AgentId) -> Result<QueueId, String> {
        let c = self.live(id)?;
        check!(
            matches!(&c.state, State::Offered { agent: a, .. } if a == agent),
            "1: offer of {id} to {agent} ended while {:?}",
            c.state
        );
        c.state = State::Queued { target: None };
        let q = c.queue.clone();
        let a = self.agent_mut(agent)?;
        a.slots
            .retain(|s| !(s.contact == *id && s.phase == Phase::Offered));
        Ok(q)
    }

    fn leave(&mut self, id: &ContactId, why: &'static str) -> Result<(), String> {
        let c = self.live(id)?;
        check!(
            matches!(c.state, State::Queued { .. }),
            "{id} {why} while {:?}",
            c.state
        );
        c.state = State::Gone(why);
        Ok(())
    }

    /// Contacts transferred to an agent who logged out go back to their queue's line; the
    /// engine does it without an event, after withdrawing the agent's offers. `only`: just
    /// that contact (it is being offered, so it has been untargeted by now).
    pub(super) fn untarget_logged_out(&mut self, only: Option<ContactId>) {
        for (id, c) in &mut self.contacts {
            if only.is_some_and(|o| o != *id) {
                continue;
            }
            if let State::Queued { target: Some(t) } = &c.state {
                if self.agents[t].presence == Presence::Offline {
                    c.state = State::Queued { target: None };
                }
            }
        }
    }
}
