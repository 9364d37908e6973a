using LogPersist.Extensions.Logging;

// A web API set up the way the package README tells a user to: the provider from one call, its settings
// from the "Logging:LogPersist" section of appsettings.json, LOKI_URL from the environment.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.AddLogPersist();
builder.Services.AddLogPersistHealthCheck();

var app = builder.Build();
var provider = app.Services.GetServices<ILoggerProvider>().OfType<LogPersistLoggerProvider>().Single();
Console.WriteLine($"wal={provider.WalDirectory}");

var orders = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Consumer.Orders");
// Information here passes the global filter but not the provider's own "Consumer.Chatty": "Warning" rule:
// an entry of this category in Loki means the section under the provider's alias was not applied.
var chatty = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Consumer.Chatty");

app.MapGet("/orders/{id:int}", (int id) =>
{
    using var scope = orders.BeginScope("Order {OrderId}", id);
    orders.LogInformation("Order {OrderId} served", id);
    chatty.LogInformation("Order {OrderId} looked at", id);
    return Results.Ok(new { id });
});
app.MapHealthChecks("/healthz");

app.Run();
