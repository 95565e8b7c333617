//! SLA policies: which targets a ticket's clocks run to, chosen by conditions on the ticket.
//!
//! A [`SlaPolicy`] has conditions (`when`: ticket kinds, priorities, customer tiers,
//! channels), up to three targets in business time (first response, next response,
//! resolution; any may be absent), the warning percentage and the id of the
//! [`BusinessCalendar`](crate::BusinessCalendar) it counts on. The caller resolves that id
//! ([`SlaPolicies::check_calendars`] tells which are unknown).
//!
//! # Matching
//! - The policies are an **ordered list; the first match wins** ([`policy_for`]).
//! - A condition left out matches any value; a condition given is a list of the values it
//!   accepts (an empty list is refused: it would match nothing).
//! - A ticket without a channel does not match a policy that names channels.
//! - A policy without conditions matches every ticket: put it last, as the fallback. With
//!   no fallback a ticket that matches nothing has **no SLA** (`None`).
//! - A policy without targets is allowed: it matches and runs no clock (an explicit "no
//!   SLA" for, say, low-priority inquiries, before a broader policy).
//!
//! # Validation (field errors)
//! Per policy: the id (1–64 letters, digits, `-_.@`), a name (not blank, at most
//! [`MAX_POLICY_NAME_LEN`] characters), each target at least a second and at most
//! [`MAX_TARGET_SECS`], the warning 1–100 %, the calendar id. Over the list: no duplicate
//! ids, and no policy that can never match because an earlier one accepts every ticket it
//! would (a fallback anywhere but last is one such).
//!
//! # As configuration
//! A JSON array of
//! `{"id", "name", "when": {"kinds", "priorities", "tiers", "channels"}, "targets":
//! {"first_response", "next_response", "resolution"}, "warn_percent", "calendar"}`, targets
//! in seconds of business time, `when` and `warn_percent` (80) optional; unknown keys are
//! refused. Errors name the field as `policies[2].targets.resolution`.

use std::{collections::BTreeSet, time::Duration};

use serde::{Deserialize, Serialize};
use switchboard_domain::{Channel, Tier, ValidationError};

use crate::ticket::{SlaTarget, Ticket, TicketKind, TicketPriority};

/// Longest policy name, in characters.
pub const MAX_POLICY_NAME_LEN: usize = 200;

/// Longest target: a year of seconds (business time; anything longer is a typo).
pub const MAX_TARGET_SECS: f64 = 366.0 * 24.0 * 3600.0;

/// The warning percentage when the configuration leaves it out.
pub const DEFAULT_WARN_PERCENT: u8 = 80;

switchboard_domain::name_type!(
    /// An SLA policy, as the operator names it (e.g. `platinum-complaints`).
    PolicyId,
    "id"
);
switchboard_domain::name_type!(
    /// A business-hours calendar, as the operator names it (e.g. `office-berlin`).
    CalendarId,
    "calendar"
);

/// Which of a policy's clocks: the three SLA targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// From creation to the first customer-visible reply by staff.
    FirstResponse,
    /// From a customer's message to the next reply by staff (a new clock each time).
    NextResponse,
    /// From creation to the resolution, paused while pending on the customer.
    Resolution,
}

impl ClockKind {
    pub const ALL: [ClockKind; 3] = [
        ClockKind::FirstResponse,
        ClockKind::NextResponse,
        ClockKind::Resolution,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::FirstResponse => "first_response",
            ClockKind::NextResponse => "next_response",
            ClockKind::Resolution => "resolution",
        }
    }
}

impl From<SlaTarget> for ClockKind {
    fn from(t: SlaTarget) -> Self {
        match t {
            SlaTarget::FirstResponse => ClockKind::FirstResponse,
            SlaTarget::Resolution => ClockKind::Resolution,
        }
    }
}

/// What a policy's conditions look at: the ticket, and its customer's tier (which the
/// ticket does not hold).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TicketFacts {
    pub kind: TicketKind,
    pub priority: TicketPriority,
    pub tier: Tier,
    /// `None`: the ticket came through no contact (created on the web form or the API).
    pub channel: Option<Channel>,
}

impl TicketFacts {
    /// The facts of `ticket`, whose customer is of `tier`.
    pub fn of(ticket: &Ticket, tier: Tier) -> Self {
        Self {
            kind: ticket.kind,
            priority: ticket.priority,
            tier,
            channel: ticket.channel,
        }
    }
}

/// A policy's conditions; `None` = any value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    kinds: Option<BTreeSet<TicketKind>>,
    priorities: Option<BTreeSet<TicketPriority>>,
    tiers: Option<BTreeSet<Tier>>,
    channels: Option<BTreeSet<Channel>>,
}

impl Conditions {
    pub fn kinds(&self) -> Option<&BTreeSet<TicketKind>> {
        self.kinds.as_ref()
    }

    pub fn priorities(&self) -> Option<&BTreeSet<TicketPriority>> {
        self.priorities.as_ref()
    }

    pub fn tiers(&self) -> Option<&BTreeSet<Tier>> {
        self.tiers.as_ref()
    }

    pub fn channels(&self) -> Option<&BTreeSet<Channel>> {
        self.channels.as_ref()
    }

    /// No condition: matches every ticket.
    pub fn is_any(&self) -> bool {
        *self == Self::default()
    }

    pub fn matches(&self, facts: &TicketFacts) -> bool {
        fn accepts<T: Ord>(set: Option<&BTreeSet<T>>, value: &T) -> bool {
            set.is_none_or(|s| s.contains(value))
        }
        accepts(self.kinds.as_ref(), &facts.kind)
            && accepts(self.priorities.as_ref(), &facts.priority)
            && accepts(self.tiers.as_ref(), &facts.tier)
            && match (&self.channels, facts.channel) {
                (None, _) => true,
                (Some(set), Some(c)) => set.contains(&c),
                (Some(_), None) => false,
            }
    }

    /// Every ticket `other` matches, `self` matches too.
    fn covers(&self, other: &Conditions) -> bool {
        fn covers<T: Ord>(wide: Option<&BTreeSet<T>>, narrow: Option<&BTreeSet<T>>) -> bool {
            match (wide, narrow) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(w), Some(n)) => n.is_subset(w),
            }
        }
        covers(self.kinds.as_ref(), other.kinds.as_ref())
            && covers(self.priorities.as_ref(), other.priorities.as_ref())
            && covers(self.tiers.as_ref(), other.tiers.as_ref())
            && covers(self.channels.as_ref(), other.channels.as_ref())
    }
}

/// A policy's targets in business time; at least a second each, any may be absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    first_response: Option<Duration>,
    next_response: Option<Duration>,
    resolution: Option<Duration>,
}

impl Targets {
    pub fn get(&self, clock: ClockKind) -> Option<Duration> {
        match clock {
            ClockKind::FirstResponse => self.first_response,
            ClockKind::NextResponse => self.next_response,
            ClockKind::Resolution => self.resolution,
        }
    }

    /// No target at all: the policy runs no clock.
    pub fn is_empty(&self) -> bool {
        ClockKind::ALL.iter().all(|&c| self.get(c).is_none())
    }
}

/// One SLA policy, built valid only (from a [`SlaPolicySpec`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SlaPolicySpec", into = "SlaPolicySpec")]
pub struct SlaPolicy {
    id: PolicyId,
    name: String,
    when: Conditions,
    targets: Targets,
    warn_percent: u8,
    calendar: CalendarId,
}

impl SlaPolicy {
    pub fn id(&self) -> &PolicyId {
        &self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn when(&self) -> &Conditions {
        &self.when
    }

    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// The target of `clock`; `None`: this policy runs no such clock.
    pub fn target(&self, clock: ClockKind) -> Option<Duration> {
        self.targets.get(clock)
    }

    pub fn warn_percent(&self) -> u8 {
        self.warn_percent
    }

    /// The id of the calendar the policy's clocks count on (the caller resolves it).
    pub fn calendar(&self) -> &CalendarId {
        &self.calendar
    }

    pub fn matches(&self, facts: &TicketFacts) -> bool {
        self.when.matches(facts)
    }
}

/// A policy as configuration: raw values, checked by `SlaPolicy::try_from`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicySpec {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub when: ConditionsSpec,
    #[serde(default)]
    pub targets: TargetsSpec,
    #[serde(default = "default_warn_percent")]
    pub warn_percent: i64,
    pub calendar: String,
}

fn default_warn_percent() -> i64 {
    i64::from(DEFAULT_WARN_PERCENT)
}

/// Conditions as configuration: a list of accepted values, or left out for any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionsSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<TicketKind>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priorities: Option<Vec<TicketPriority>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<Tier>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<Channel>>,
}

/// Targets as configuration: seconds of business time, or left out for none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<f64>,
}

fn condition<T: Ord + Copy>(
    field: &str,
    values: Option<Vec<T>>,
) -> Result<Option<BTreeSet<T>>, ValidationError> {
    match values {
        None => Ok(None),
        Some(v) if v.is_empty() => Err(ValidationError::new(
            format!("when.{field}"),
            "an empty list matches nothing: leave the condition out to match any value",
        )),
        Some(v) => Ok(Some(v.into_iter().collect())),
    }
}

fn target(field: &str, secs: Option<f64>) -> Result<Option<Duration>, ValidationError> {
    let Some(secs) = secs else {
        return Ok(None);
    };
    if !(1.0..=MAX_TARGET_SECS).contains(&secs) {
        return Err(ValidationError::new(
            format!("targets.{field}"),
            format!(
                "a target is at least one second and at most a year of business time, not {secs}"
            ),
        ));
    }
    // Whole milliseconds, the resolution of every instant (in range: checked above).
    let ms = (secs * 1000.0).round() as u64;
    Ok(Some(Duration::from_millis(ms)))
}

impl TryFrom<SlaPolicySpec> for SlaPolicy {
    type Error = ValidationError;

    fn try_from(spec: SlaPolicySpec) -> Result<Self, ValidationError> {
        let id = PolicyId::parse(&spec.id)?;
        let name = spec.name.trim();
        if name.is_empty() {
            return Err(ValidationError::new("name", "a policy needs a name"));
        }
        if name.chars().count() > MAX_POLICY_NAME_LEN {
            return Err(ValidationError::new(
                "name",
                format!("must be at most {MAX_POLICY_NAME_LEN} characters"),
            ));
        }
        let w = spec.when;
        let when = Conditions {
            kinds: condition("kinds", w.kinds)?,
            priorities: condition("priorities", w.priorities)?,
            tiers: condition("tiers", w.tiers)?,
            channels: condition("channels", w.channels)?,
        };
        let t = spec.targets;
        let targets = Targets {
            first_response: target("first_response", t.first_response)?,
            next_response: target("next_response", t.next_response)?,
            resolution: target("resolution", t.resolution)?,
        };
        let warn_percent = u8::try_from(spec.warn_percent)
            .ok()
            .filter(|p| (1..=100).contains(p))
            .ok_or_else(|| {
                ValidationError::new(
                    "warn_percent",
                    format!(
                        "the warning is a percentage of the target, 1 to 100, not {}",
                        spec.warn_percent
                    ),
                )
            })?;
        let calendar = CalendarId::parse(&spec.calendar)?;
        Ok(Self {
            id,
            name: name.to_owned(),
            when,
            targets,
            warn_percent,
            calendar,
        })
    }
}

impl From<SlaPolicy> for SlaPolicySpec {
    fn from(p: SlaPolicy) -> Self {
        fn list<T: Copy>(set: Option<BTreeSet<T>>) -> Option<Vec<T>> {
            set.map(|s| s.into_iter().collect())
        }
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        Self {
            id: p.id.as_str().to_owned(),
            name: p.name,
            when: ConditionsSpec {
                kinds: list(p.when.kinds),
                priorities: list(p.when.priorities),
                tiers: list(p.when.tiers),
                channels: list(p.when.channels),
            },
            targets: TargetsSpec {
                first_response: secs(p.targets.first_response),
                next_response: secs(p.targets.next_response),
                resolution: secs(p.targets.resolution),
            },
            warn_percent: i64::from(p.warn_percent),
            calendar: p.calendar.as_str().to_owned(),
        }
    }
}

/// The first policy of `policies` that matches `facts`; `None`: no SLA for this ticket.
pub fn policy_for<'a>(policies: &'a [SlaPolicy], facts: &TicketFacts) -> Option<&'a SlaPolicy> {
    policies.iter().find(|p| p.matches(facts))
}

/// The configured policies, in matching order, checked as a whole: unique ids, every
/// policy reachable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<SlaPolicySpec>", into = "Vec<SlaPolicySpec>")]
pub struct SlaPolicies(Vec<SlaPolicy>);

impl SlaPolicies {
    /// # Errors
    /// [`ValidationError`] on `policies[i].id` (a duplicate) or `policies[i].when` (an
    /// earlier policy matches every ticket this one would, so it never matches).
    pub fn new(policies: Vec<SlaPolicy>) -> Result<Self, ValidationError> {
        for (j, p) in policies.iter().enumerate() {
            for (i, earlier) in policies[..j].iter().enumerate() {
                if earlier.id == p.id {
                    return Err(ValidationError::new(
                        format!("policies[{j}].id"),
                        format!("{} is already the id of policies[{i}]", p.id),
                    ));
                }
                if earlier.when.covers(&p.when) {
                    return Err(ValidationError::new(
                        format!("policies[{j}].when"),
                        format!(
                            "never matches: policies[{i}] ({}) comes first and matches every \
                             ticket this one would (first match wins)",
                            earlier.id
                        ),
                    ));
                }
            }
        }
        Ok(Self(policies))
    }

    /// Checks each policy, then the list.
    ///
    /// # Errors
    /// [`ValidationError`] whose field is prefixed with `policies[i].`, as [`SlaPolicies::new`].
    pub fn from_specs(specs: Vec<SlaPolicySpec>) -> Result<Self, ValidationError> {
        let policies = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                SlaPolicy::try_from(spec).map_err(|e| {
                    ValidationError::new(format!("policies[{i}].{}", e.field), e.problem)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(policies)
    }

    pub fn as_slice(&self) -> &[SlaPolicy] {
        &self.0
    }

    pub fn get(&self, id: &PolicyId) -> Option<&SlaPolicy> {
        self.0.iter().find(|p| p.id == *id)
    }

    /// See [`policy_for`].
    pub fn policy_for(&self, facts: &TicketFacts) -> Option<&SlaPolicy> {
        policy_for(&self.0, facts)
    }

    /// Every policy names a calendar `known` accepts.
    ///
    /// # Errors
    /// [`ValidationError`] on `policies[i].calendar`, the first unknown one.
    pub fn check_calendars(
        &self,
        known: impl Fn(&CalendarId) -> bool,
    ) -> Result<(), ValidationError> {
        match self.0.iter().position(|p| !known(&p.calendar)) {
            None => Ok(()),
            Some(i) => Err(ValidationError::new(
                format!("policies[{i}].calendar"),
                format!("no calendar is called {}", self.0[i].calendar),
            )),
        }
    }
}

impl TryFrom<Vec<SlaPolicySpec>> for SlaPolicies {
    type Error = ValidationError;

    fn try_from(specs: Vec<SlaPolicySpec>) -> Result<Self, ValidationError> {
        Self::from_specs(specs)
    }
}

impl From<SlaPolicies> for Vec<SlaPolicySpec> {
    fn from(p: SlaPolicies) -> Self {
        p.0.into_iter().map(SlaPolicySpec::from).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policies(value: serde_json::Value) -> Result<SlaPolicies, ValidationError> {
        let specs: Vec<SlaPolicySpec> = serde_json::from_value(value).unwrap();
        SlaPolicies::from_specs(specs)
    }

    /// The field a list with one bad policy (beside a valid first one) is refused on.
    fn refused(bad: serde_json::Value) -> String {
        policies(json!([ok("first", json!({"tiers": ["platinum"]})), bad]))
            .unwrap_err()
            .field
    }

    fn ok(id: &str, when: serde_json::Value) -> serde_json::Value {
        json!({
            "id": id, "name": format!("policy {id}"), "when": when,
            "targets": {"first_response": 3600, "resolution": 28800}, "calendar": "office"
        })
    }

    fn facts(kind: TicketKind, priority: TicketPriority, tier: Tier) -> TicketFacts {
        TicketFacts {
            kind,
            priority,
            tier,
            channel: Some(Channel::Email),
        }
    }

    fn chosen<'a>(list: &'a SlaPolicies, facts: &TicketFacts) -> Option<&'a str> {
        list.policy_for(facts).map(|p| p.id().as_str())
    }

    fn sample() -> SlaPolicies {
        policies(json!([
            ok("platinum-complaints", json!({"kinds": ["complaint"], "tiers": ["platinum"]})),
            ok("urgent", json!({"priorities": ["urgent"]})),
            ok("voice-gold", json!({"tiers": ["gold", "platinum"], "channels": ["voice"]})),
            {"id": "no-sla-low", "name": "Low inquiries: no SLA",
             "when": {"kinds": ["inquiry"], "priorities": ["low"]}, "calendar": "office"},
            ok("fallback", json!({})),
        ]))
        .unwrap()
    }

    #[test]
    fn the_first_matching_policy_wins() {
        use TicketKind::{Complaint, Inquiry};
        use TicketPriority::{Low, Normal, Urgent};
        let list = sample();
        // Matches "platinum-complaints" and "urgent": the earlier one wins.
        let f = facts(Complaint, Urgent, Tier::Platinum);
        assert_eq!(chosen(&list, &f), Some("platinum-complaints"));
        assert_eq!(
            chosen(&list, &facts(Complaint, Urgent, Tier::Gold)),
            Some("urgent")
        );
        // An absent condition matches any value: "urgent" names no kind or tier.
        assert_eq!(
            chosen(&list, &facts(Inquiry, Urgent, Tier::Standard)),
            Some("urgent")
        );
        // Every condition of a policy must hold: gold by e-mail is not "voice-gold".
        assert_eq!(
            chosen(&list, &facts(Inquiry, Normal, Tier::Gold)),
            Some("fallback")
        );
        let voice = TicketFacts {
            channel: Some(Channel::Voice),
            ..facts(Inquiry, Normal, Tier::Gold)
        };
        assert_eq!(chosen(&list, &voice), Some("voice-gold"));
        // No channel: a policy naming channels does not match it.
        let none = TicketFacts {
            channel: None,
            ..voice
        };
        assert_eq!(chosen(&list, &none), Some("fallback"));
        // A policy without targets matches and runs no clock.
        let low = list
            .policy_for(&facts(Inquiry, Low, Tier::Standard))
            .unwrap();
        assert_eq!(low.id().as_str(), "no-sla-low");
        assert!(low.targets().is_empty());
        assert_eq!(low.target(ClockKind::Resolution), None);
    }

    #[test]
    fn without_a_fallback_a_ticket_that_matches_nothing_has_no_sla() {
        let list = policies(json!([ok("p", json!({"tiers": ["platinum"]}))])).unwrap();
        let f = facts(TicketKind::Inquiry, TicketPriority::Normal, Tier::Silver);
        assert!(list.policy_for(&f).is_none());
        assert!(policy_for(&[], &f).is_none());
        let f = TicketFacts {
            tier: Tier::Platinum,
            ..f
        };
        assert_eq!(chosen(&list, &f), Some("p"));
    }

    #[test]
    fn a_policy_reads_from_and_writes_to_configuration() {
        let list = sample();
        let p = list.get(&PolicyId::parse("urgent").unwrap()).unwrap();
        assert_eq!(p.name(), "policy urgent");
        assert_eq!(
            p.target(ClockKind::FirstResponse),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(p.target(ClockKind::NextResponse), None);
        assert_eq!(p.warn_percent(), DEFAULT_WARN_PERCENT);
        assert_eq!(p.calendar().as_str(), "office");
        assert_eq!(
            p.when().priorities().map(|s| s.len()),
            Some(1),
            "one accepted priority"
        );
        assert!(p.when().kinds().is_none());
        let written = serde_json::to_value(&list).unwrap();
        assert_eq!(
            written[1],
            json!({"id": "urgent", "name": "policy urgent", "when": {"priorities": ["urgent"]},
                   "targets": {"first_response": 3600.0, "resolution": 28800.0},
                   "warn_percent": 80, "calendar": "office"})
        );
        let back: SlaPolicies = serde_json::from_value(written).unwrap();
        assert_eq!(back, list);
        // Fractions of a second are kept to the millisecond.
        let p: SlaPolicy = serde_json::from_value(json!({"id": "p", "name": "P",
            "targets": {"next_response": 90.5}, "warn_percent": 50, "calendar": "c"}))
        .unwrap();
        assert_eq!(
            p.target(ClockKind::NextResponse),
            Some(Duration::from_millis(90_500))
        );
        assert!(p.when().is_any());
    }

    #[test]
    fn unknown_keys_are_refused() {
        for bad in [
            json!([{"id": "p", "name": "P", "calendar": "c", "priority": 1}]),
            json!([{"id": "p", "name": "P", "calendar": "c", "when": {"tier": ["gold"]}}]),
            json!([{"id": "p", "name": "P", "calendar": "c", "targets": {"response": 60}}]),
        ] {
            let e = serde_json::from_value::<SlaPolicies>(bad).unwrap_err();
            assert!(e.to_string().contains("unknown field"), "{e}");
        }
        // Unknown values too.
        let bad = json!([{"id": "p", "name": "P", "calendar": "c", "when": {"tiers": ["iron"]}}]);
        assert!(serde_json::from_value::<SlaPolicies>(bad).is_err());
    }

    #[test]
    fn policies_are_validated_field_by_field() {
        let with = |key: &str, value: serde_json::Value| {
            let mut p = ok("second", json!({"tiers": ["gold"]}));
            p[key] = value;
            p
        };
        let cases = [
            (with("name", json!("  ")), "policies[1].name"),
            (with("name", json!("x".repeat(201))), "policies[1].name"),
            (with("id", json!("")), "policies[1].id"),
            (with("id", json!("has space")), "policies[1].id"),
            (with("calendar", json!("")), "policies[1].calendar"),
            (with("warn_percent", json!(0)), "policies[1].warn_percent"),
            (with("warn_percent", json!(101)), "policies[1].warn_percent"),
            (with("warn_percent", json!(-5)), "policies[1].warn_percent"),
            (
                with("targets", json!({"first_response": 0})),
                "policies[1].targets.first_response",
            ),
            (
                with("targets", json!({"resolution": -3600})),
                "policies[1].targets.resolution",
            ),
            (
                with("targets", json!({"next_response": 0.5})),
                "policies[1].targets.next_response",
            ),
            (
                with("targets", json!({"resolution": 400.0 * 86_400.0})),
                "policies[1].targets.resolution",
            ),
            (with("when", json!({"kinds": []})), "policies[1].when.kinds"),
            (
                with("when", json!({"channels": []})),
                "policies[1].when.channels",
            ),
            // Duplicate id.
            (ok("first", json!({"tiers": ["gold"]})), "policies[1].id"),
            // Shadowed: the first policy already takes every platinum ticket.
            (
                ok(
                    "second",
                    json!({"tiers": ["platinum"], "kinds": ["complaint"]}),
                ),
                "policies[1].when",
            ),
        ];
        for (bad, field) in cases {
            assert_eq!(refused(bad.clone()), field, "{bad}");
        }
        // A fallback anywhere but last leaves the policies after it unreachable.
        let e = policies(json!([
            ok("all", json!({})),
            ok("later", json!({"tiers": ["gold"]}))
        ]))
        .unwrap_err();
        assert_eq!(e.field, "policies[1].when");
        assert!(e.problem.contains("policies[0] (all)"), "{}", e.problem);
        // A wider policy after a narrower one is fine (it takes the rest).
        assert!(policies(json!([
            ok("a", json!({"tiers": ["platinum"], "kinds": ["complaint"]})),
            ok("b", json!({"tiers": ["platinum"]})),
            ok("c", json!({"tiers": ["gold"], "channels": ["voice"]})),
            ok("d", json!({"tiers": ["gold"]})),
        ]))
        .is_ok());
        // Through serde the field is in the message.
        let e = serde_json::from_value::<SlaPolicies>(json!([with("warn_percent", json!(0))]))
            .unwrap_err();
        assert!(e.to_string().contains("policies[0].warn_percent"), "{e}");
    }

    #[test]
    fn unknown_calendars_are_reported_by_policy() {
        let list = sample();
        assert!(list.check_calendars(|c| c.as_str() == "office").is_ok());
        let e = list.check_calendars(|_| false).unwrap_err();
        assert_eq!(e.field, "policies[0].calendar");
        assert!(e.problem.contains("office"));
    }
}
