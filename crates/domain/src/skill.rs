use serde::{Deserialize, Serialize};

use crate::{SkillName, ValidationError};

/// How well an agent masters a skill: 1 (novice) to 10 (expert).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct SkillLevel(u8);

impl SkillLevel {
    pub const MIN: SkillLevel = SkillLevel(1);
    pub const MAX: SkillLevel = SkillLevel(10);

    pub fn new(level: u8) -> Result<Self, ValidationError> {
        if (1..=10).contains(&level) {
            Ok(Self(level))
        } else {
            Err(ValidationError::new("level", "must be between 1 and 10"))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for SkillLevel {
    type Error = ValidationError;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<SkillLevel> for u8 {
    fn from(l: SkillLevel) -> u8 {
        l.0
    }
}

/// "Needs `skill` at `min_level` or better." Skill expansion may lower the level a waiting
/// contact accepts, never drop the skill.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkillRequirement {
    pub skill: SkillName,
    #[serde(default = "min_level_default")]
    pub min_level: SkillLevel,
}

fn min_level_default() -> SkillLevel {
    SkillLevel::MIN
}

impl SkillRequirement {
    pub fn new(skill: SkillName, min_level: SkillLevel) -> Self {
        Self { skill, min_level }
    }
}
