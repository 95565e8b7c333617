//! Agent presence follows their consoles, across instances.
//!
//! An agent with no console open on any live instance cannot answer offers: they are set away
//! (`disconnected`), which withdraws their ringing offers for other agents. That happens when
//! their last console anywhere closes ([`App::console_closed`]), when the instance holding it
//! dies (found by [`run`]'s sweeps of the `switchboard_dispatch::ConsoleRegistry`), and when
//! this instance stops cleanly ([`App::leave`]).
//!
//! This module knows the console's idea of "away"; where the counts live (in process or in
//! Redis) is the registry's business.

use switchboard_dispatch::QueueBackend;
use switchboard_domain::{AgentId, AgentStatus, Command, Presence, ReasonCode};

use crate::App;

impl App {
    /// A console of `agent` opened on this instance.
    pub async fn console_opened(&self, agent: &AgentId) {
        if let Err(e) = self.presence.opened(agent).await {
            tracing::warn!(agent = %agent, error = %e, "could not record an open console");
        }
    }

    /// A console of `agent` closed on this instance: if it was their last on any live
    /// instance, they are set away. If the shared registry cannot be asked, this instance's
    /// own count decides (it did record the close).
    pub async fn console_closed(&self, agent: &AgentId) {
        let last = match self.presence.closed(agent).await {
            Ok(last) => last,
            Err(e) => {
                tracing::warn!(agent = %agent, error = %e, "could not ask whether the agent has a console elsewhere");
                !self.presence.has_local_console(agent).await
            }
        };
        if last {
            self.set_away(agent).await;
        }
    }

    /// A clean stop: this instance's consoles count as closed; their agents with no console
    /// on another live instance are set away.
    pub async fn leave(&self) {
        match self.presence.leave().await {
            Ok(orphans) => {
                for agent in orphans {
                    self.set_away(&agent).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not withdraw this instance's consoles"),
        }
    }

    /// Sets a logged-in agent away (`disconnected`); an agent already away or offline is left
    /// alone.
    async fn set_away(&self, agent: &AgentId) {
        let logged_in = !matches!(
            self.dispatcher.agent_status(agent).await,
            Ok(Some(AgentStatus::Offline | AgentStatus::Away { .. })) | Ok(None) | Err(_)
        );
        if !logged_in {
            return;
        }
        let away = Presence::Away {
            reason: ReasonCode::parse("disconnected").expect("a valid reason"),
        };
        let command = Command::SetPresence {
            agent: agent.clone(),
            presence: away,
        };
        if let Err(e) = self.dispatcher.execute(command, self.now()).await {
            tracing::warn!(agent = %agent, error = %e, "could not set a disconnected agent away");
        } else {
            tracing::info!(agent = %agent, "no console left anywhere: set away (disconnected)");
        }
    }
}

/// Heartbeats this instance and sweeps for dead ones, forever (with the in-process registry
/// there is nothing to do and it returns at once).
pub async fn run(app: App) {
    if !app.presence.is_shared() {
        return;
    }
    let mut every = tokio::time::interval(app.presence.options().heartbeat_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = app.presence.heartbeat().await {
            tracing::warn!(error = %e, "console presence heartbeat failed");
        }
        match app.presence.sweep().await {
            Ok(orphans) => {
                for agent in orphans {
                    // Between the sweep and now, a console may have opened somewhere.
                    if !matches!(app.presence.has_console(&agent).await, Ok(true)) {
                        app.set_away(&agent).await;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "sweeping dead instances' consoles failed"),
        }
    }
}
