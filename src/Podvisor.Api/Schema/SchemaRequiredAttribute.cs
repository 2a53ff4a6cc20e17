namespace Podvisor.Api.Schema;

/// <summary>The field must be present.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaRequiredAttribute : Attribute;
