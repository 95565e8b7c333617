//! Who gets what: the eligibility rules and the strategies.

use std::cmp::Reverse;

use switchboard_domain::{ContactId, EventKind, RoutingStrategy, Timestamp};

use super::state::{AgentSlot, CState, ContactSlot, Ix, Phase, QueueSlot, Timer, Work};
use super::Engine;

/// May agent `a` take contact `c` of queue `q` at `now` as far as skills go? Each required
/// skill (the queue's and the contact's own) must be held at the required level, lowered by
/// the queue's expansion step in force for the time the contact has waited in the queue.
pub(super) fn skills_ok(a: &AgentSlot, c: &ContactSlot, q: &QueueSlot, now: Timestamp) -> bool {
    let floor = q
        .config
        .level_floor(now.since(c.entered_at))
        .map(|l| l.get());
    q.required
        .iter()
        .chain(c.skills.iter())
        .all(|&(skill, min)| {
            let need = floor.map_or(min, |f| min.min(f));
            a.level(skill) >= need
        })
}

/// Sum of the agent's levels in everything the contact needs (best-skill strategy).
fn skill_score(a: &AgentSlot, c: &ContactSlot, q: &QueueSlot) -> u32 {
    q.required
        .iter()
        .chain(c.skills.iter())
        .map(|&(s, _)| u32::from(a.level(s)))
        .sum()
}

/// 32-bit FNV-1a over the contact id and the agent name: the "random" strategy's stable,
/// evenly spread draw (the same in every backend and every run).
pub(crate) fn draw(contact: ContactId, agent: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in contact.as_uuid().as_bytes().iter().chain(agent.as_bytes()) {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// How a freed agent ranks a candidate contact: effective priority now (higher first), then
/// arrival, then id (earlier first).
type Rank = (i64, Reverse<i64>, Reverse<ContactId>);

impl Engine {
    /// Offers a waiting contact to the best eligible free agent, if there is one.
    pub(super) fn match_contact(&mut self, id: ContactId, now: Timestamp) {
        self.match_contact_except(id, &[], now);
    }

    /// [`Engine::match_contact`], passing over `except` (the agent who just declined it: a
    /// declined contact goes to the *next* agent).
    pub(super) fn match_contact_except(&mut self, id: ContactId, except: &[Ix], now: Timestamp) {
        let Some(c) = self.contacts.get(&id) else {
            return;
        };
        let CState::Queued { target, .. } = c.state else {
            return;
        };
        let q = &self.queues[c.queue as usize];
        let fits = |a: Ix| {
            let agent = &self.agents[a as usize];
            !except.contains(&a) && agent.has_room(c.channel) && skills_ok(agent, c, q, now)
        };
        let chosen = if let Some(t) = target {
            // A contact for a named agent goes to that agent only (if that is the agent to
            // pass over, it will pick the contact up itself when it looks for work).
            let agent = &self.agents[t as usize];
            (!except.contains(&t) && agent.can_take_work() && agent.has_room(c.channel))
                .then_some(t)
        } else {
            match q.strategy() {
                RoutingStrategy::LongestIdle
                | RoutingStrategy::FewestContacts
                | RoutingStrategy::RoundRobin => {
                    q.available.iter().map(|&(_, a)| a).find(|&a| fits(a))
                }
                RoutingStrategy::BestSkill => q
                    .available
                    .iter()
                    .filter(|&&(_, a)| fits(a))
                    // Highest score; among equals the first in line (longest idle).
                    .min_by_key(|&&(key, a)| {
                        (Reverse(skill_score(&self.agents[a as usize], c, q)), key, a)
                    })
                    .map(|&(_, a)| a),
                RoutingStrategy::Random => q
                    .available
                    .iter()
                    .filter(|&&(_, a)| fits(a))
                    .min_by_key(|&&(_, a)| {
                        (draw(id, self.agents[a as usize].profile.id.as_str()), a)
                    })
                    .map(|&(_, a)| a),
            }
        };
        if let Some(a) = chosen {
            self.offer(id, a, now);
        }
    }

    /// Gives a free agent the best contact it may take, repeatedly while it has room (a chat
    /// agent may receive several offers at once). Best = highest effective priority now, then
    /// earliest arrival; contacts transferred to the agent by name compete on the same terms.
    pub(super) fn match_agent(&mut self, a: Ix, now: Timestamp) {
        loop {
            let agent = &self.agents[a as usize];
            if !agent.can_take_work() {
                return;
            }
            let mut best: Option<(Rank, ContactId)> = None;
            let mut consider = |c: &ContactSlot, id: ContactId, aging: u32| {
                let rank = (
                    c.priority().effective_millis(aging, c.arrived_at, now),
                    Reverse(c.arrived_at.as_millis()),
                    Reverse(id),
                );
                if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                    best = Some((rank, id));
                }
            };
            for &id in &agent.targeted {
                let c = &self.contacts[&id];
                if agent.has_room(c.channel) {
                    consider(c, id, self.queues[c.queue as usize].aging());
                }
            }
            for &q in &agent.queues {
                let slot = &self.queues[q as usize];
                // The line is in priority order: the first contact this agent may take is the
                // queue's best for them. Contacts it may not take are skipped, never blocking
                // the ones behind (no head-of-line blocking).
                let first = slot.waiting.iter().find(|key| {
                    let c = &self.contacts[&key.id];
                    agent.has_room(c.channel) && skills_ok(agent, c, slot, now)
                });
                if let Some(key) = first {
                    consider(&self.contacts[&key.id], key.id, slot.aging());
                }
            }
            let Some((_, id)) = best else {
                return;
            };
            self.offer(id, a, now);
        }
    }

    /// Offers each of these contacts (those still waiting) to a free agent, best first:
    /// effective priority now, then arrival, then id — so when one transition makes several
    /// contacts matchable at once, a lesser one never takes the agent a better one could have.
    /// Agents in `except` are passed over: they were freed by the same transition and choose
    /// their own next contact afterwards (agent first), so a lesser contact cannot grab them.
    pub(super) fn match_contacts(
        &mut self,
        mut ids: Vec<ContactId>,
        except: &[Ix],
        now: Timestamp,
    ) {
        ids.sort_unstable();
        ids.dedup();
        let mut ranked: Vec<(Rank, ContactId)> = ids
            .into_iter()
            .filter_map(|id| {
                let c = self.contacts.get(&id)?;
                matches!(c.state, CState::Queued { .. }).then(|| {
                    let aging = self.queues[c.queue as usize].aging();
                    let rank = (
                        c.priority().effective_millis(aging, c.arrived_at, now),
                        Reverse(c.arrived_at.as_millis()),
                        Reverse(id),
                    );
                    (rank, id)
                })
            })
            .collect();
        ranked.sort_unstable_by_key(|&(rank, _)| Reverse(rank));
        for (_, id) in ranked {
            self.match_contact_except(id, except, now);
        }
    }

    /// After a settings change: every free agent looks for work.
    pub(super) fn rematch_all(&mut self, now: Timestamp) {
        for a in 0..self.agents.len() as Ix {
            self.match_agent(a, now);
        }
    }

    /// Reserves agent `a` for waiting contact `id` until the queue's offer deadline.
    fn offer(&mut self, id: ContactId, a: Ix, now: Timestamp) {
        self.leave_line_keep_timers(id);
        let c = self.contacts.get_mut(&id).expect("offered contact exists");
        let q = c.queue;
        let deadline = now.plus(self.queues[q as usize].config.offer_timeout);
        c.state = CState::Offered { agent: a, deadline };
        let channel = c.channel;
        self.offer_seq += 1;
        let agent = &mut self.agents[a as usize];
        agent.work.push(Work {
            contact: id,
            queue: q,
            channel,
            phase: Phase::Offered,
        });
        agent.offers += 1;
        agent.last_offer_seq = self.offer_seq;
        agent.idle_since = now;
        self.schedule_for_contact(id, deadline, Timer::OfferDeadline(id));
        self.reindex(a);
        self.emit(
            now,
            EventKind::ContactOffered {
                contact: id,
                queue: self.qid(q),
                agent: self.aid(a),
                deadline,
            },
        );
    }

    /// Out of the waiting line, but expansion and max-wait timers stay: if the offer comes
    /// back, the contact still counts its time in queue from when it entered.
    pub(super) fn leave_line_keep_timers(&mut self, id: ContactId) {
        let c = &self.contacts[&id];
        if let CState::Queued { key, target, .. } = c.state {
            match target {
                Some(t) => self.agents[t as usize].targeted.retain(|&x| x != id),
                None => {
                    self.queues[c.queue as usize].waiting.remove(&key);
                }
            }
        }
    }
}
