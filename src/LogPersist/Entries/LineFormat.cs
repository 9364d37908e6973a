namespace LogPersist;

/// <summary>How an entry becomes the line Loki stores.</summary>
public enum LineFormat
{
    /// <summary>One JSON object: level, category, msg, template, event id, properties, scopes, exception, trace and span id.</summary>
    Json = 0,

    /// <summary><c>key=value</c> pairs with the same fields as <see cref="Json"/>; nested values are written as JSON text.</summary>
    Logfmt = 1,

    /// <summary><c>level category: message</c>, then the exception on the following lines.</summary>
    Text = 2,
}

/// <summary>What happens to a line longer than the maximum line size.</summary>
public enum OversizedLineMode
{
    /// <summary>Cut the line at the limit and end it with a visible <c>[truncated N bytes]</c> suffix.</summary>
    Truncate = 0,

    /// <summary>Send the line as several entries of at most the limit each, one nanosecond apart.</summary>
    Split = 1,
}
