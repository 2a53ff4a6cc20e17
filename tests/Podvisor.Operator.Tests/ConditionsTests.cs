using Podvisor.Api;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Tests;

public sealed class ConditionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, 500, TimeSpan.Zero);

    [Fact]
    public void TransitionTimeMovesOnlyWhenTheStatusFlips()
    {
        var conditions = new List<Condition>();
        Assert.True(Conditions.Set(conditions, "Ready", Conditions.False, "Starting", now: T0));
        Assert.Equal(T0.AddMilliseconds(-500), conditions[0].LastTransitionTime);   // seconds, as the API server stores them

        Assert.True(Conditions.Set(conditions, "Ready", Conditions.False, "Scheduling", "waiting for a node", now: T0.AddSeconds(5)));
        Assert.Equal(T0.AddMilliseconds(-500), conditions[0].LastTransitionTime);   // same status: no transition
        Assert.Equal(("Scheduling", "waiting for a node"), (conditions[0].Reason, conditions[0].Message));

        Assert.False(Conditions.Set(conditions, "Ready", Conditions.False, "Scheduling", "waiting for a node", now: T0.AddSeconds(6)));
        Assert.True(Conditions.Set(conditions, "Ready", Conditions.True, now: T0.AddSeconds(10)));
        Assert.Equal(T0.AddSeconds(10).AddMilliseconds(-500), conditions[0].LastTransitionTime);
        Assert.Single(conditions);
        Assert.True(Conditions.IsTrue(conditions, "Ready"));
    }

    [Fact]
    public void ConditionsOfOtherTypesAreLeftAloneAndCanBeRemoved()
    {
        var conditions = new List<Condition>();
        Conditions.Set(conditions, "Ready", Conditions.True, now: T0);
        Conditions.Set(conditions, "Paused", Conditions.True, "PausedByUser", now: T0);
        Assert.Equal(["Ready", "Paused"], conditions.Select(c => c.Type));
        Assert.True(Conditions.Remove(conditions, "Paused"));
        Assert.False(Conditions.Remove(conditions, "Paused"));
        Assert.Null(Conditions.Find(conditions, "Paused"));
        Assert.Throws<ArgumentException>(() => Conditions.Set(conditions, "Ready", "yes"));
    }
}
