using Podvisor.Api.Control;

namespace Podvisor.Api.Tests;

/// <summary>A migration's trace is named by its UID, the same for everyone who computes it.</summary>
public sealed class MigrationTraceTests
{
    [Fact]
    public void TheTraceIdIsTheMigrationsUid()
    {
        var context = MigrationTrace.ContextOf("8f14e45f-ceea-467f-a0b4-2e5c9d1a7b33");
        Assert.Equal("8f14e45fceea467fa0b42e5c9d1a7b33", context.TraceId.ToHexString());
        Assert.Equal(context, MigrationTrace.ContextOf("8f14e45f-ceea-467f-a0b4-2e5c9d1a7b33"));
        Assert.NotEqual(context.TraceId, MigrationTrace.ContextOf("8f14e45f-ceea-467f-a0b4-2e5c9d1a7b34").TraceId);
        Assert.True(context.TraceFlags.HasFlag(System.Diagnostics.ActivityTraceFlags.Recorded));
    }

    [Fact]
    public void AUidThatIsNotAUuidStillNamesOneTrace()
    {
        var context = MigrationTrace.ContextOf("uid-1");
        Assert.Equal(context.TraceId, MigrationTrace.ContextOf("uid-1").TraceId);
        Assert.NotEqual("00000000000000000000000000000000", context.TraceId.ToHexString());
        Assert.NotEqual(context.TraceId, MigrationTrace.ContextOf("uid-2").TraceId);
    }
}
