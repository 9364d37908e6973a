namespace LogPersist;

/// <summary>Whether entry metadata (trace and span id) travels as Loki structured metadata or inside the line.</summary>
public enum StructuredMetadataMode
{
    /// <summary>
    /// Send structured metadata when the server's build info says Loki 3 or later; otherwise fold it
    /// into the line, since Loki 2.x accepts the field and then discards it.
    /// </summary>
    Auto = 0,

    /// <summary>Always fold metadata into the line.</summary>
    Off = 1,

    /// <summary>
    /// Send structured metadata. If the server answers that the feature is disallowed, the refused
    /// entries are resent with their metadata folded into the line and metadata is not sent again.
    /// </summary>
    On = 2,
}

/// <summary>The body format of push requests.</summary>
public enum PushEncoding
{
    /// <summary>Protobuf compressed with snappy (block format), as Loki's own agents send.</summary>
    Protobuf = 0,

    /// <summary>JSON, for gateways that only pass JSON; optionally gzip-compressed.</summary>
    Json = 1,
}
