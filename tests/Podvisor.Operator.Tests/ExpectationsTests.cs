using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Tests;

public sealed class ExpectationsTests
{
    [Fact]
    public void AKeyWaitsUntilItsCreationsAndDeletionsAreSeen()
    {
        var expectations = new Expectations();
        Assert.True(expectations.Satisfied("ns/vm"));                // nothing expected: act on the cache
        expectations.Expect("ns/vm", adds: 1, deletes: 1);
        Assert.False(expectations.Satisfied("ns/vm"));
        expectations.Observed("ns/vm", exists: true);
        Assert.False(expectations.Satisfied("ns/vm"));               // the delete is still to be seen
        expectations.Observed("ns/vm", exists: false);
        Assert.True(expectations.Satisfied("ns/vm"));
        Assert.True(expectations.Satisfied("ns/other"));
    }

    [Fact]
    public void ExpectationsExpireSoALostEventCannotBlockAKeyForever()
    {
        var clock = new ManualClock();
        var expectations = new Expectations(TimeSpan.FromMinutes(5), clock);
        expectations.Expect("ns/vm", adds: 1);
        clock.Now += TimeSpan.FromMinutes(4);
        Assert.False(expectations.Satisfied("ns/vm"));
        clock.Now += TimeSpan.FromMinutes(1);
        Assert.True(expectations.Satisfied("ns/vm"));
    }

    [Fact]
    public void ObservationsWithoutExpectationsAndForgottenKeysAreHarmless()
    {
        var expectations = new Expectations();
        expectations.Observed("ns/vm", exists: true);                // someone else's pod appeared
        Assert.True(expectations.Satisfied("ns/vm"));
        expectations.Expect("ns/vm", adds: 2);
        expectations.Delete("ns/vm");
        Assert.True(expectations.Satisfied("ns/vm"));
    }
}
