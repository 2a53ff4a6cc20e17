namespace Podvisor.Operator.Tests;

public sealed class OperatorOptionsTests
{
    [Fact]
    public void LaunchersServeMetricsOnTheirOwnPortUnlessTurnedOff()
    {
        Assert.Equal(8445, OperatorOptions.Parse([]).Launcher.MetricsPort);
        Assert.Equal(9100, OperatorOptions.Parse(["--launcher-metrics-port", "9100"]).Launcher.MetricsPort);
        Assert.Equal(0, OperatorOptions.Parse(["--launcher-metrics-port", "0"]).Launcher.MetricsPort);
    }

    [Theory]
    [InlineData("8443", "--launcher-metrics-port: 8443 is the launcher's control or migration port")]
    [InlineData("8444", "--launcher-metrics-port: 8444 is the launcher's control or migration port")]
    [InlineData("http", "--launcher-metrics-port: \"http\" is not a port number (0 for none)")]
    [InlineData("65536", "--launcher-metrics-port: \"65536\" is not a port number (0 for none)")]
    public void APortTheLauncherCannotUseIsRefused(string port, string message) =>
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => OperatorOptions.Parse(["--launcher-metrics-port", port])).Message);
}
