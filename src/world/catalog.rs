//! The dimensions and metrics the simulator models ([`Dim`], [`Metric`]), with the codes its
//! traffic uses: a subset of the catalogue of names Genesys accepts
//! ([`crate::genesys::catalog`]), which is what the simulator validates queries against.
//! A catalogue name outside this subset is valid and simply has no data.

/// Dimensions the model gives values to. Any other catalogue dimension is valid in a
/// query but has no value (group key absent, `matches` never true).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dim {
    QueueId,
    MediaType,
    Direction,
    OriginatingDirection,
    UserId,
    WrapUpCode,
    Purpose,
    DivisionId,
}

/// Number of modelled dimensions (length of a dimension-value vector).
pub(crate) const DIM_COUNT: usize = 8;

/// The value codes of one measurement, indexed by [`Dim::index`]; `None` = absent.
pub(crate) type DimValues = [Option<u32>; DIM_COUNT];

impl Dim {
    pub(crate) const ALL: [Dim; DIM_COUNT] = [
        Dim::QueueId,
        Dim::MediaType,
        Dim::Direction,
        Dim::OriginatingDirection,
        Dim::UserId,
        Dim::WrapUpCode,
        Dim::Purpose,
        Dim::DivisionId,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Dim::QueueId => "queueId",
            Dim::MediaType => "mediaType",
            Dim::Direction => "direction",
            Dim::OriginatingDirection => "originatingDirection",
            Dim::UserId => "userId",
            Dim::WrapUpCode => "wrapUpCode",
            Dim::Purpose => "purpose",
            Dim::DivisionId => "divisionId",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.name() == name)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// How a metric's stats are shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetricKind {
    /// `n…`: `{count}`.
    Count,
    /// `t…`: `{max, min, count, sum}` in milliseconds.
    Timer,
    /// `oServiceLevel`: `{ratio, numerator, denominator, target}`.
    ServiceLevel,
}

/// Metrics the model produces. Other catalogue metrics are valid but have no data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Metric {
    NOffered,
    NConnected,
    NTransferred,
    NBlindTransferred,
    NConsultTransferred,
    NOverSla,
    NConversations,
    NOutbound,
    THandle,
    TTalk,
    TTalkComplete,
    THeld,
    THeldComplete,
    TAcw,
    TAnswered,
    TWait,
    TAcd,
    TAlert,
    TAbandon,
    TShortAbandon,
    TDialing,
    OServiceLevel,
}

/// Number of modelled metrics.
pub(crate) const METRIC_COUNT: usize = 22;

impl Metric {
    pub(crate) const ALL: [Metric; METRIC_COUNT] = [
        Metric::NOffered,
        Metric::NConnected,
        Metric::NTransferred,
        Metric::NBlindTransferred,
        Metric::NConsultTransferred,
        Metric::NOverSla,
        Metric::NConversations,
        Metric::NOutbound,
        Metric::THandle,
        Metric::TTalk,
        Metric::TTalkComplete,
        Metric::THeld,
        Metric::THeldComplete,
        Metric::TAcw,
        Metric::TAnswered,
        Metric::TWait,
        Metric::TAcd,
        Metric::TAlert,
        Metric::TAbandon,
        Metric::TShortAbandon,
        Metric::TDialing,
        Metric::OServiceLevel,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Metric::NOffered => "nOffered",
            Metric::NConnected => "nConnected",
            Metric::NTransferred => "nTransferred",
            Metric::NBlindTransferred => "nBlindTransferred",
            Metric::NConsultTransferred => "nConsultTransferred",
            Metric::NOverSla => "nOverSla",
            Metric::NConversations => "nConversations",
            Metric::NOutbound => "nOutbound",
            Metric::THandle => "tHandle",
            Metric::TTalk => "tTalk",
            Metric::TTalkComplete => "tTalkComplete",
            Metric::THeld => "tHeld",
            Metric::THeldComplete => "tHeldComplete",
            Metric::TAcw => "tAcw",
            Metric::TAnswered => "tAnswered",
            Metric::TWait => "tWait",
            Metric::TAcd => "tAcd",
            Metric::TAlert => "tAlert",
            Metric::TAbandon => "tAbandon",
            Metric::TShortAbandon => "tShortAbandon",
            Metric::TDialing => "tDialing",
            Metric::OServiceLevel => "oServiceLevel",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn kind(self) -> MetricKind {
        match self {
            Metric::OServiceLevel => MetricKind::ServiceLevel,
            m if m.name().starts_with('t') => MetricKind::Timer,
            _ => MetricKind::Count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::catalog;

    #[test]
    fn every_modelled_name_is_in_the_catalogue() {
        for m in Metric::ALL {
            assert!(catalog::is_conversation_metric(m.name()), "{}", m.name());
        }
        for d in Dim::ALL {
            assert!(catalog::is_conversation_dimension(d.name()), "{}", d.name());
        }
    }
}
