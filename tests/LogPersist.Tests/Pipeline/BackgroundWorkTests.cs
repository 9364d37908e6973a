using System.Diagnostics;
using LogPersist.Pipeline;
using Microsoft.Extensions.Time.Testing;

namespace LogPersist.Tests.Pipeline;

public sealed class BackgroundWorkTests
{
    [Fact]
    public async Task A_stop_cancels_the_work_waits_for_it_and_refuses_work_started_later()
    {
        var time = new FakeTimeProvider();
        using var work = new BackgroundWork(time);
        var sawCancellation = new TaskCompletionSource();
        Assert.True(work.Start(async stop =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromDays(1), time, stop);
            }
            catch (OperationCanceledException)
            {
                sawCancellation.SetResult();
            }
        }));

        Assert.True(await work.StopAsync(TimeSpan.FromSeconds(5)).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(sawCancellation.Task.IsCompleted);
        Assert.Equal(0, work.Running);
        Assert.False(work.Start(_ => Task.CompletedTask));
    }

    [Fact]
    public async Task A_stop_returns_false_at_its_deadline_when_the_work_does_not_end()
    {
        var time = new FakeTimeProvider();
        using var work = new BackgroundWork(time);
        var never = new TaskCompletionSource();
        work.Start(_ => never.Task);

        var stopping = work.StopAsync(TimeSpan.FromSeconds(5));
        var watch = Stopwatch.StartNew();
        while (!stopping.IsCompleted)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the stop did not return at its deadline");
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(10);
        }

        Assert.False(await stopping);
        Assert.Equal(1, work.Running);
        never.SetResult();
    }
}
