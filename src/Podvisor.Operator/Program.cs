using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Podvisor.Operator;

// podvisor-operator [--kubeconfig PATH] [--lease-namespace NS] [--identity NAME] [--launcher-image IMAGE]
//                   [--launcher-service-account NAME] [--device-access extended-resources|privileged] [--metrics-port N]
Podvisor.Operator.Runtime.OperatorJson.Register();
OperatorOptions options;
try
{
    options = OperatorOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"podvisor-operator: {e.Message}");
    return 2;
}
KubernetesClientConfiguration cluster;
try
{
    cluster = options.Kubeconfig is { } path ? Podvisor.Api.Kubeconfig.Load(path) : KubernetesClientConfiguration.InClusterConfig();
}
catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine(options.Kubeconfig is null
        ? $"podvisor-operator: no cluster to run against: {e.Message} Outside a pod, give --kubeconfig FILE (or set KUBECONFIG)."
        : $"podvisor-operator: kubeconfig {options.Kubeconfig}: {e.Message}");
    return 2;
}
void AddOperator(IServiceCollection services)
{
    services.AddSingleton(options);
    services.AddSingleton<IKubernetes>(_ => new Kubernetes(cluster));
    services.AddHostedService<OperatorService>();
    OperatorTelemetrySetup.Add(services, options);
}
if (options.MetricsPort > 0)
{
    // Kestrel on every address (Prometheus scrapes the pod IP) for /metrics and /healthz.
    var web = WebApplication.CreateSlimBuilder(args);
    web.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(options.MetricsPort));
    AddOperator(web.Services);
    var app = web.Build();
    OperatorTelemetrySetup.MapEndpoints(app);
    await app.RunAsync();
}
else
{
    var builder = Host.CreateApplicationBuilder(args);
    AddOperator(builder.Services);
    await builder.Build().RunAsync();
}
return Environment.ExitCode;
