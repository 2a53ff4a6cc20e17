namespace Podvisor.Testing;

/// <summary>Helm 3, as users install the chart with it (<see cref="KubeTool"/>: PODVISOR_HELM).</summary>
public static class Helm
{
    public static readonly KubeTool Tool = new("helm", "PODVISOR_HELM");

    public static string ChartDirectory => System.IO.Path.Combine(Repository.Root, "charts", "podvisor");
}
