namespace LogPersist.LokiTestServer;

/// <summary>One entry refused from a push, with Loki's reason.</summary>
internal readonly record struct Refusal(long TimestampNs, string Reason, string Stream);
