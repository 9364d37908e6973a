using LogPersist.Pipeline;
using Microsoft.Extensions.Options;

namespace LogPersist.Extensions.Logging;

/// <summary>Reports every problem of the options in one message when they are first used.</summary>
internal sealed class LogPersistOptionsValidator : IValidateOptions<LogPersistOptions>
{
    public ValidateOptionsResult Validate(string? name, LogPersistOptions options)
    {
        try
        {
            PipelineSettings.Resolve(options);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail(e.Message);
        }
    }
}
