//! Configuration records an administrator edits: the people and the words of the center.
//! The routing settings themselves are [`crate::QueueConfig`] and [`crate::AgentProfile`].

use serde::{Deserialize, Serialize};

use crate::{AgentProfile, QueueId, ReasonCode, SkillName, ValidationError};

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// A skill in the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Skill {
    pub name: SkillName,
    #[serde(default)]
    pub description: String,
}

impl Skill {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.description.chars().count() > 500 {
            return Err(ValidationError::new(
                "description",
                "must be at most 500 characters",
            ));
        }
        Ok(())
    }
}

/// An agent as the center knows them: who they are (name, agent number, extension, team)
/// and how they are routed to ([`AgentProfile`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    #[serde(flatten)]
    pub profile: AgentProfile,
    /// Shown to customers in greetings ("This is Ann").
    pub display_name: String,
    /// The agent number stated in greetings ("agent 1042").
    pub number: String,
    /// The phone extension the PBX rings for this agent.
    #[serde(default)]
    pub extension: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
}

impl Agent {
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.profile.validate()?;
        check_text("display_name", &self.display_name, 100)?;
        check_text("number", &self.number, 32)?;
        if let Some(ext) = &self.extension {
            check_text("extension", ext, 32)?;
        }
        if let Some(team) = &self.team {
            check_text("team", team, 100)?;
        }
        Ok(())
    }
}

/// The variables a greeting may use, e.g. `Hello, {company}, this is {agent_name}.`
pub const GREETING_VARIABLES: [&str; 7] = [
    "company",
    "agent_name",
    "agent_number",
    "customer_name",
    "customer_tier",
    "queue",
    "language",
];

/// A greeting script: what the agent says on answering, per queue and language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GreetingScript {
    pub script_id: String,
    /// `None`: the default for queues without their own.
    #[serde(default)]
    pub queue: Option<QueueId>,
    /// BCP 47 language tag, e.g. `en`, `fr-CA`.
    pub language: String,
    pub template: String,
}

impl GreetingScript {
    pub fn validate(&self) -> Result<(), ValidationError> {
        crate::ids::check_name("script_id", &self.script_id)?;
        let lang_ok = !self.language.is_empty()
            && self.language.len() <= 16
            && self
                .language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !lang_ok {
            return Err(ValidationError::new(
                "language",
                "must be a language tag such as en or fr-CA",
            ));
        }
        check_text("template", &self.template, 2_000)?;
        // Every {variable} must be known, and braces must pair up.
        let mut rest = self.template.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                return Err(ValidationError::new(
                    "template",
                    "has a { without a matching }",
                ));
            };
            let name = &after[..close];
            if !GREETING_VARIABLES.contains(&name) {
                return Err(ValidationError::new(
                    "template",
                    format!(
                        "unknown variable {{{name}}}; known: {}",
                        GREETING_VARIABLES.join(", ")
                    ),
                ));
            }
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(ValidationError::new(
                "template",
                "has a } without a matching {",
            ));
        }
        Ok(())
    }
}

/// A wrap-up (disposition) code agents pick at the end of a contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Disposition {
    pub code: String,
    pub label: String,
    /// Choosing it marks the issue resolved (for first-contact resolution).
    #[serde(default)]
    pub resolves: bool,
}

impl Disposition {
    pub fn validate(&self) -> Result<(), ValidationError> {
        crate::ids::check_name("code", &self.code)?;
        check_text("label", &self.label, 100)
    }
}

/// Why an agent may be away (break, lunch, training…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AwayReason {
    pub code: ReasonCode,
    pub label: String,
}

impl AwayReason {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("label", &self.label, 100)
    }
}

/// A telephony integration: how a PBX posts events to us and where we call it back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Integration {
    pub integration_id: String,
    /// `generic` (signed JSON hooks) or `zammad_cti`.
    pub kind: IntegrationKind,
    /// Shared secret for HMAC signatures (generic) or the URL token (CTI). Never returned
    /// by the API after it is set.
    pub secret: String,
    /// Where to tell the PBX which extension to ring, connect or stop ringing (we-route
    /// mode): signed `call.ring` / `call.connect` / `call.cancel` webhooks, retried with
    /// backoff. `http://` or `https://`.
    #[serde(default)]
    pub callback_url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    Generic,
    ZammadCti,
}

impl Integration {
    pub fn validate(&self) -> Result<(), ValidationError> {
        crate::ids::check_name("integration_id", &self.integration_id)?;
        if self.secret.len() < 16 || self.secret.len() > 256 {
            return Err(ValidationError::new(
                "secret",
                "must be 16 to 256 characters",
            ));
        }
        if let Some(url) = &self.callback_url {
            let host = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .unwrap_or("");
            let ok = !host.is_empty()
                && !host.starts_with('/')
                && url.len() <= 2_000
                && !url.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(ValidationError::new(
                    "callback_url",
                    "must be an http:// or https:// URL with a host",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(template: &str) -> GreetingScript {
        GreetingScript {
            script_id: "default-en".into(),
            queue: None,
            language: "en".into(),
            template: template.into(),
        }
    }

    #[test]
    fn greeting_templates_use_known_variables_only() {
        assert_eq!(
            script("Hello, {company}, this is {agent_name} ({agent_number}).").validate(),
            Ok(())
        );
        assert!(script("Hi {nme}")
            .validate()
            .unwrap_err()
            .problem
            .contains("unknown variable {nme}"));
        assert!(script("Hi {company").validate().is_err());
        assert!(script("Hi company}").validate().is_err());
        assert!(script("   ").validate().is_err());
    }
}
