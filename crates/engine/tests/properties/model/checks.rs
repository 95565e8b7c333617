//! The end of a step: rules 1, 2, 4, 5 and 6 over the model's state, maximum waits, and the
//! engine's own views (contacts, agents, lines) against the model.

use std::collections::BTreeSet;

use switchboard_domain::{AgentId, Channel, ContactId, ContactState, Timestamp};
use switchboard_engine::Engine;

use super::{ContactM, Model, Phase, State};

impl Model {
    pub(crate) fn end_step(
        &mut self,
        engine: &Engine,
        now: Timestamp,
        waiting_before: &BTreeSet<ContactId>,
    ) -> Result<(), String> {
        self.untarget_logged_out(None);
        self.priority_then_fifo(waiting_before)?;
        self.complete_matching(now)?;
        self.capacity_and_single_holder()?;
        self.max_wait_honoured(now)?;
        self.agrees_with(engine, now)
    }

    /// Rule 5: an agent offered a contact was not passed over for a better one that waited
    /// throughout the step, unoffered from that moment on.
    fn priority_then_fifo(&mut self, waiting_before: &BTreeSet<ContactId>) -> Result<(), String> {
        let waiting_after = self.waiting();
        for o in std::mem::take(&mut self.offers) {
            let throughout =
                |x: &&ContactId| waiting_before.contains(x) && waiting_after.contains(x);
            if let Some(x) = o.better.iter().find(throughout) {
                return Err(format!(
                    "5: {} offered to {} at {} while {x}, which it could take, ranked better and waited throughout",
                    o.contact, o.agent, o.at
                ));
            }
        }
        Ok(())
    }

    /// Rule 4: nobody ready could take a waiting contact.
    fn complete_matching(&self, now: Timestamp) -> Result<(), String> {
        for (id, c) in &self.contacts {
            for a in self.agents.values() {
                check!(
                    !self.can_take(a, c, now),
                    "4: {id} ({:?} in {}, {:?}) waits while {} could take it",
                    c.channel,
                    c.queue,
                    c.state,
                    a.profile.id
                );
            }
        }
        Ok(())
    }

    /// Rules 1 and 2 on the state: capacities, voice exclusivity, one live holder per contact.
    fn capacity_and_single_holder(&self) -> Result<(), String> {
        for a in self.agents.values() {
            let cap = a.profile.capacity;
            let count = |f: fn(Channel) -> bool| a.slots.iter().filter(|s| f(s.channel)).count();
            let voice = count(Channel::is_voice);
            check!(
                voice <= usize::from(cap.voice),
                "2: {} over voice capacity",
                a.profile.id
            );
            check!(
                voice == 0 || a.slots.len() == 1,
                "2: {} has work beside a call: {:?}",
                a.profile.id,
                a.slots
            );
            for ch in [Channel::Chat, Channel::Email, Channel::Ticket] {
                let n = a.slots.iter().filter(|s| s.channel == ch).count();
                check!(
                    n <= usize::from(cap.of(ch)),
                    "2: {} over {ch:?} capacity",
                    a.profile.id
                );
            }
        }
        for (id, c) in &self.contacts {
            let holders: Vec<&AgentId> = self
                .agents
                .values()
                .filter(|a| {
                    a.slots
                        .iter()
                        .any(|s| s.contact == *id && !matches!(s.phase, Phase::WrapUp(_)))
                })
                .map(|a| &a.profile.id)
                .collect();
            let expected: Vec<&AgentId> = match &c.state {
                State::Offered { agent, .. } | State::Assigned(agent) | State::Held(agent) => {
                    vec![agent]
                }
                _ => vec![],
            };
            check!(
                holders == expected,
                "1: {id} ({:?}) held by {holders:?}",
                c.state
            );
        }
        Ok(())
    }

    fn max_wait_honoured(&self, now: Timestamp) -> Result<(), String> {
        for (id, c) in &self.contacts {
            let max = self.queues[&c.queue].max_wait.as_ref();
            if let (State::Queued { .. }, Some(max)) = (&c.state, max) {
                check!(
                    now.since(c.entered_at) < max.after,
                    "{id} waits in {} past its maximum",
                    c.queue
                );
            }
        }
        Ok(())
    }

    /// What `Engine::contact` must say.
    fn view(&self, c: &ContactM) -> Option<ContactState> {
        let queue = c.queue.clone();
        Some(match &c.state {
            State::Queued { target } => ContactState::Queued {
                queue,
                entered_at: c.entered_at,
                target_agent: target.clone(),
            },
            State::Offered { agent, deadline } => ContactState::Offered {
                queue,
                agent: agent.clone(),
                deadline: *deadline,
            },
            State::Assigned(agent) => ContactState::Assigned {
                queue,
                agent: agent.clone(),
            },
            State::Held(agent) => ContactState::Held {
                queue,
                agent: agent.clone(),
            },
            State::WrapUp { agent, until } => ContactState::WrapUp {
                queue,
                agent: agent.clone(),
                until: *until,
            },
            State::Gone(_) => return None,
        })
    }

    /// Rule 6 and the views: the engine holds exactly the model's live contacts, in the same
    /// states; agents' slots and statuses match; each line is in priority order (rule 5).
    fn agrees_with(&self, engine: &Engine, now: Timestamp) -> Result<(), String> {
        let mut alive = 0;
        for (&id, c) in &self.contacts {
            let (got, want) = (engine.contact(id), self.view(c));
            check!(
                got == want,
                "6: the engine has {id} as {got:?}, the events say {want:?}"
            );
            alive += usize::from(want.is_some());
        }
        for &id in &self.refused {
            check!(engine.contact(id).is_none(), "the engine kept refused {id}");
        }
        check!(
            engine.contact_count() == alive,
            "6: the engine holds {} contacts, not {alive}",
            engine.contact_count()
        );
        for (id, a) in &self.agents {
            let mut got = engine.agent_contacts(id);
            let mut want: Vec<ContactId> = a.slots.iter().map(|s| s.contact).collect();
            got.sort();
            want.sort();
            check!(got == want, "{id} holds {got:?}, the events say {want:?}");
            let status = engine.agent_status(id);
            check!(
                status == Some(a.status(now)),
                "{id} is {status:?}, the events say {:?}",
                a.status(now)
            );
        }
        let in_line = |c: &ContactM| matches!(c.state, State::Queued { target: None });
        for (&id, c) in self.contacts.iter().filter(|(_, c)| in_line(c)) {
            let key = self.line_key(id, c, now);
            let line = self
                .contacts
                .iter()
                .filter(|(_, o)| in_line(o) && o.queue == c.queue);
            let (mut ahead, mut waiting) = (0, 0);
            for (&other, o) in line {
                waiting += 1;
                ahead += u32::from(self.line_key(other, o, now) < key);
            }
            let got = engine.position(id, now).map(|p| (p.position, p.waiting));
            check!(
                got == Some((ahead + 1, waiting)),
                "5: {id} is at {got:?} in {}, not {}/{waiting}",
                c.queue,
                ahead + 1
            );
        }
        Ok(())
    }
}
