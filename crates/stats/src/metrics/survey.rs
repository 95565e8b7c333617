//! Post-contact surveys: CSAT and NPS.

use serde::{Deserialize, Serialize};
use switchboard_domain::ContactId;
use thiserror::Error;

/// Why a metric could not be computed. Bad input is an error, never a panic.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A survey answer outside its scale.
    #[error("survey score {score} is outside the {scale:?} scale ({min}–{max})")]
    ScoreOutOfRange {
        contact: ContactId,
        scale: SurveyScale,
        score: u8,
        min: u8,
        max: u8,
    },
    /// A time range that ends before it starts.
    #[error("the time range ends before it starts")]
    InvalidRange,
    /// Bucketing the range would make more intervals than [`crate::MAX_INTERVALS`].
    #[error("the range holds more than {limit} intervals")]
    TooManyIntervals { limit: usize },
}

/// The question a survey answer replies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SurveyScale {
    /// "How satisfied were you?", 1 (very dissatisfied) to 5 (very satisfied).
    Csat5,
    /// "How likely are you to recommend us?", 0 to 10.
    Nps10,
}

impl SurveyScale {
    /// The lowest and highest valid scores.
    pub fn bounds(self) -> (u8, u8) {
        match self {
            SurveyScale::Csat5 => (1, 5),
            SurveyScale::Nps10 => (0, 10),
        }
    }
}

/// One customer's answer to one post-contact survey question. Plain input (surveys are not
/// events); checked by [`SurveyAnswer::validate`] before any figure is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurveyAnswer {
    pub contact: ContactId,
    pub score: u8,
    pub scale: SurveyScale,
}

impl SurveyAnswer {
    /// # Errors
    /// [`MetricsError::ScoreOutOfRange`] when `score` is outside the scale.
    pub fn validate(&self) -> Result<(), MetricsError> {
        let (min, max) = self.scale.bounds();
        if (min..=max).contains(&self.score) {
            Ok(())
        } else {
            Err(MetricsError::ScoreOutOfRange {
                contact: self.contact,
                scale: self.scale,
                score: self.score,
                min,
                max,
            })
        }
    }
}

/// Customer satisfaction from 1–5 answers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Csat {
    /// Answers counted.
    pub responses: u64,
    /// Answers of 4 or 5.
    pub satisfied: u64,
    /// `satisfied / responses`, a fraction in `0..=1`.
    pub share_satisfied: f64,
    /// Mean score, in `1..=5`.
    pub mean: f64,
}

/// Net promoter score from 0–10 answers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Nps {
    pub responses: u64,
    /// Answers of 9 or 10.
    pub promoters: u64,
    /// Answers of 0 to 6.
    pub detractors: u64,
    /// `100 × (promoters − detractors) / responses`, in points from −100 to 100.
    pub score: f64,
}

/// CSAT over the [`SurveyScale::Csat5`] answers in `answers` (others are skipped):
/// share satisfied = `#{score ∈ {4, 5}} / n`, mean = `Σ score / n`. `None` without answers.
///
/// # Errors
/// [`MetricsError::ScoreOutOfRange`] if any answer (of either scale) is out of its range.
pub fn csat<'a>(
    answers: impl IntoIterator<Item = &'a SurveyAnswer>,
) -> Result<Option<Csat>, MetricsError> {
    let (mut n, mut satisfied, mut sum) = (0u64, 0u64, 0u64);
    for a in answers {
        a.validate()?;
        if a.scale == SurveyScale::Csat5 {
            n += 1;
            sum += u64::from(a.score);
            if a.score >= 4 {
                satisfied += 1;
            }
        }
    }
    Ok((n > 0).then(|| Csat {
        responses: n,
        satisfied,
        share_satisfied: satisfied as f64 / n as f64,
        mean: sum as f64 / n as f64,
    }))
}

/// CSAT from the number of answers of each score (`counts[i]`: answers of `i + 1`).
pub(crate) fn csat_of_counts(counts: &[u64; 5]) -> Option<Csat> {
    let n: u64 = counts.iter().sum();
    let sum: u64 = counts.iter().zip(1u64..).map(|(c, s)| c * s).sum();
    let satisfied = counts[3] + counts[4];
    (n > 0).then(|| Csat {
        responses: n,
        satisfied,
        share_satisfied: satisfied as f64 / n as f64,
        mean: sum as f64 / n as f64,
    })
}

/// NPS from the number of answers of each score (`counts[i]`: answers of `i`).
pub(crate) fn nps_of_counts(counts: &[u64; 11]) -> Option<Nps> {
    let n: u64 = counts.iter().sum();
    let promoters = counts[9] + counts[10];
    let detractors: u64 = counts[..=6].iter().sum();
    (n > 0).then(|| Nps {
        responses: n,
        promoters,
        detractors,
        score: 100.0 * (promoters as f64 - detractors as f64) / n as f64,
    })
}

/// NPS over the [`SurveyScale::Nps10`] answers in `answers` (others are skipped):
/// `100 × (#{9, 10} − #{0..=6}) / n`. `None` without answers.
///
/// # Errors
/// [`MetricsError::ScoreOutOfRange`] if any answer (of either scale) is out of its range.
pub fn nps<'a>(
    answers: impl IntoIterator<Item = &'a SurveyAnswer>,
) -> Result<Option<Nps>, MetricsError> {
    let (mut n, mut promoters, mut detractors) = (0u64, 0u64, 0u64);
    for a in answers {
        a.validate()?;
        if a.scale == SurveyScale::Nps10 {
            n += 1;
            match a.score {
                9..=10 => promoters += 1,
                0..=6 => detractors += 1,
                _ => {}
            }
        }
    }
    Ok((n > 0).then(|| Nps {
        responses: n,
        promoters,
        detractors,
        score: 100.0 * (promoters as f64 - detractors as f64) / n as f64,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(n: u32) -> ContactId {
        format!("00000000-0000-0000-0000-{n:012}").parse().unwrap()
    }

    fn answer(n: u32, scale: SurveyScale, score: u8) -> SurveyAnswer {
        SurveyAnswer {
            contact: c(n),
            score,
            scale,
        }
    }

    #[test]
    fn csat_is_the_share_of_fours_and_fives_and_the_mean() {
        let a: Vec<_> = [5, 4, 3, 1]
            .iter()
            .enumerate()
            .map(|(i, &s)| answer(i as u32, SurveyScale::Csat5, s))
            .chain([answer(9, SurveyScale::Nps10, 0)])
            .collect();
        let got = csat(&a).unwrap().unwrap();
        assert_eq!((got.responses, got.satisfied), (4, 2));
        assert_eq!(got.share_satisfied, 0.5);
        assert_eq!(got.mean, 13.0 / 4.0);
        assert_eq!(csat(&[]).unwrap(), None);
    }

    #[test]
    fn nps_is_promoters_minus_detractors_in_points() {
        // 9, 10 promoters; 7, 8 passive; 0, 6 detractors; 3 promoters, 1 detractor of 5.
        let a: Vec<_> = [10, 9, 9, 8, 6]
            .iter()
            .enumerate()
            .map(|(i, &s)| answer(i as u32, SurveyScale::Nps10, s))
            .collect();
        let got = nps(&a).unwrap().unwrap();
        assert_eq!((got.promoters, got.detractors), (3, 1));
        assert_eq!(got.score, 40.0);
        let all_low = [answer(1, SurveyScale::Nps10, 0)];
        assert_eq!(nps(&all_low).unwrap().unwrap().score, -100.0);
    }

    #[test]
    fn out_of_range_scores_are_errors() {
        for bad in [
            answer(1, SurveyScale::Csat5, 0),
            answer(1, SurveyScale::Csat5, 6),
            answer(1, SurveyScale::Nps10, 11),
        ] {
            assert!(matches!(
                csat(&[bad]),
                Err(MetricsError::ScoreOutOfRange { .. })
            ));
            assert!(nps(&[bad]).is_err());
        }
        // Deserialised input goes through the same check when used.
        let raw: SurveyAnswer = serde_json::from_str(&format!(
            r#"{{"contact":"{}","score":200,"scale":"csat5"}}"#,
            c(3)
        ))
        .unwrap();
        assert!(raw.validate().is_err());
    }
}
