using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Podvisor.Operator;

// podvisor-operator [--kubeconfig PATH] [--lease-namespace NS] [--identity NAME]
var options = OperatorOptions.Parse(args);
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSingleton(options);
builder.Services.AddSingleton<IKubernetes>(_ => new Kubernetes(options.Kubeconfig is { } path
    ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path)
    : KubernetesClientConfiguration.InClusterConfig()));
builder.Services.AddHostedService<OperatorService>();
await builder.Build().RunAsync();
