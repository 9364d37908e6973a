using LogPersist.Pipeline;
using Microsoft.Extensions.Options;

namespace LogPersist.Extensions.Logging;

/// <summary>
/// Reports every problem of the options in one message when they are first used, which stops the
/// application at start. Once valid options have been seen, later ones pass here: the options monitor
/// would otherwise throw a failed validation into the configuration's reload (and skip its listeners),
/// while the running pipeline checks them itself, reports every problem and keeps its settings.
/// </summary>
internal sealed class LogPersistOptionsValidator : IValidateOptions<LogPersistOptions>
{
    private int _validated;

    public ValidateOptionsResult Validate(string? name, LogPersistOptions options)
    {
        if (Volatile.Read(ref _validated) != 0)
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            PipelineSettings.Resolve(options);
            Volatile.Write(ref _validated, 1);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail(e.Message);
        }
    }
}
