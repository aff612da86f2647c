<#
    Runs packer/build.pkr.hcl's provisioner sequence (build-sequence.json, kept equal to the template by
    test/packer/build-sequence.test.ts) against a fake machine, step by step as Packer would, and stops at
    the first failing step like Packer does. Variables start at the template's defaults.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'PackerRunner.ps1')

$BuildSequence = Get-Content -LiteralPath (Join-Path $PSScriptRoot 'build-sequence.json') -Raw | ConvertFrom-Json
$PackerDirectory = Join-Path $RepositoryRoot 'packer'

function ConvertFrom-HclLiteral {
    <# A default value as the template writes it: "string", true/false, a number, [] or ["a", "b"]. #>
    param([string] $Text)
    $text = $Text.Trim()
    if ($text -match '^\[(.*)\]$') {
        $inner = $Matches[1].Trim()
        if ($inner -eq '') {
            return , @()
        }
        return , @($inner.Split(',') | ForEach-Object { ConvertFrom-HclLiteral $_ })
    }
    if ($text -match '^"(.*)"$') {
        return ($Matches[1] -replace '\\\\', '\')
    }
    return $text
}

function Get-TemplateValues {
    param([hashtable] $Variables)
    $values = @{}
    foreach ($property in $BuildSequence.variables.PSObject.Properties) {
        $values["var.$($property.Name)"] = ConvertFrom-HclLiteral $property.Value
    }
    foreach ($name in $Variables.Keys) {
        $value = $Variables[$name]
        if ($value -is [bool]) {
            $value = $value.ToString().ToLowerInvariant()
        }
        $values["var.$name"] = $value
    }
    $values['path.root'] = $PackerDirectory
    return $values
}

function Expand-HclTemplate {
    <# Interpolations the template's provisioners use: ${var.X}, ${local.X}, ${path.root}, join, length. #>
    param([string] $Text, [hashtable] $Values)
    $pattern = '\$\{(join\("(?<sep>[^"]*)", (?<joined>[\w.]+)\)|length\((?<counted>[\w.]+)\)|(?<ref>[\w.]+))\}'
    return [regex]::Replace($Text, $pattern, {
            param($match)
            if ($match.Groups['joined'].Success) {
                return (@(Get-HclReference -Name $match.Groups['joined'].Value -Values $Values) -join $match.Groups['sep'].Value)
            }
            if ($match.Groups['counted'].Success) {
                return [string]@(Get-HclReference -Name $match.Groups['counted'].Value -Values $Values).Count
            }
            return [string](Get-HclReference -Name $match.Groups['ref'].Value -Values $Values)
        })
}

function Get-HclReference {
    param([string] $Name, [hashtable] $Values)
    if ($Values.ContainsKey($Name)) {
        return $Values[$Name]
    }
    if ($Name -like 'local.*') {
        $expression = $BuildSequence.locals.($Name.Substring(6))
        if ($null -eq $expression) {
            throw "build-sequence.json has no $Name."
        }
        return (ConvertFrom-HclList -Text $expression -Values $Values)
    }
    throw "The template build emulation cannot evaluate $Name."
}

function ConvertFrom-HclList {
    <# A string, a list of strings, a reference, or concat(list, list) as strings. #>
    param([string] $Text, [hashtable] $Values)
    $text = $Text.Trim()
    if ($text -match '^concat\((?<first>\[.*?\]|[\w.]+), (?<second>.+)\)$') {
        $first = $Matches['first']
        $second = $Matches['second']
        return (@(ConvertFrom-HclList -Text $first -Values $Values) + @(ConvertFrom-HclList -Text $second -Values $Values))
    }
    if ($text -match '^\[(?s)(.*)\]$') {
        $items = [regex]::Matches($Matches[1], '"((?:\$\{[^}]*\}|[^"\\]|\\.)*)"') | ForEach-Object {
            Expand-HclTemplate -Text ($_.Groups[1].Value -replace '\\"', '"' -replace '\\\\', '\') -Values $Values
        }
        return $items
    }
    if ($text -match '^"(.*)"$') {
        return (Expand-HclTemplate -Text ($Matches[1] -replace '\\\\', '\') -Values $Values)
    }
    return (Get-HclReference -Name $text -Values $Values)
}

function Invoke-TemplateBuild {
    <#
        Returns one result per step run: Name, ExitCode, Output. A failing step ends the build, as in Packer.
        -SysprepCheck runs the bundled sysprep-check as the shell-local hook (the action passes it).
    #>
    param(
        [Parameter(Mandatory)] [string] $Machine,
        [hashtable] $Variables = @{},
        [switch] $SysprepCheck,
        # Only these guest scripts (file names); the set-up steps and restarts around them still run.
        [string[]] $Only = @()
    )
    $values = Get-TemplateValues -Variables $Variables
    $results = New-Object System.Collections.Generic.List[object]
    foreach ($provisioner in $BuildSequence.provisioners) {
        $attributes = $provisioner.attributes
        $names = @($attributes.PSObject.Properties.Name)
        $step = $null
        switch ($provisioner.type) {
            'powershell' {
                $environment = @()
                if ($names -contains 'environment_vars') {
                    $environment = @(ConvertFrom-HclList -Text $attributes.environment_vars -Values $values)
                }
                $elevated = $names -contains 'elevated_user'
                if ($names -contains 'inline') {
                    # The inline lines name guest paths (C:\w365-build): they mean the fake machine's folders.
                    $lines = @(ConvertFrom-HclList -Text $attributes.inline -Values $values | ForEach-Object {
                            $_ -replace "'[Cc]:\\", "'$(Join-Path $Machine 'C')/"
                        })
                    $run = Invoke-PackerPowerShell -Machine $Machine -Inline $lines -EnvironmentVars $environment -Elevated:$elevated
                    $step = [pscustomobject]@{ Name = 'powershell (inline)'; ExitCode = $run.ExitCode; Output = $run.Output }
                }
                else {
                    $scripts = @()
                    if ($names -contains 'script') {
                        $scripts = @(ConvertFrom-HclList -Text $attributes.script -Values $values)
                    }
                    else {
                        $scripts = @(ConvertFrom-HclList -Text $attributes.scripts -Values $values)
                    }
                    foreach ($script in $scripts) {
                        if ($Only.Count -gt 0 -and $Only -notcontains (Split-Path -Leaf $script)) {
                            continue
                        }
                        $run = Invoke-PackerPowerShell -Machine $Machine -Script $script -EnvironmentVars $environment -Elevated:$elevated
                        $passLabel = @($environment | Where-Object { $_ -like 'W365_WINDOWS_UPDATE_PASS=*' }) -join ''
                        $step = [pscustomobject]@{ Name = "powershell $(Split-Path -Leaf $script) $passLabel".Trim(); ExitCode = $run.ExitCode; Output = $run.Output }
                        if ($run.ExitCode -ne 0) {
                            break
                        }
                        $results.Add($step)
                        $step = $null
                    }
                }
            }
            'file' {
                $source = ConvertFrom-HclList -Text $attributes.source -Values $values
                if ($names -contains 'direction') {
                    if ($Only.Count -gt 0 -and $Only -notcontains 'facts.ps1') {
                        continue
                    }
                    # The runner-side destination (next to the manifest) is the machine's output folder here.
                    $from = ConvertTo-MachinePath -Machine $Machine -GuestPath $source
                    $to = Join-Path $Machine 'output/w365-facts.json'
                    New-Item -ItemType Directory -Path (Split-Path -Parent $to) -Force | Out-Null
                    Copy-Item -LiteralPath $from -Destination $to -Force
                    $step = [pscustomobject]@{ Name = 'file (download facts)'; ExitCode = 0; Output = $to }
                }
                else {
                    $destination = ConvertFrom-HclList -Text $attributes.destination -Values $values
                    Invoke-PackerFileUpload -Machine $Machine -Source $source -GuestDestination $destination
                    $step = [pscustomobject]@{ Name = "file (upload $(Split-Path -Leaf $source))"; ExitCode = 0; Output = '' }
                }
            }
            'shell-local' {
                if ($Only.Count -gt 0 -and $Only -notcontains 'facts.ps1') {
                    continue
                }
                $exitCode = 0
                $output = 'sysprep check skipped: sysprep_check_command is empty'
                if ($SysprepCheck) {
                    $verdict = Get-SysprepVerdict -FactsPath (Join-Path $Machine 'output/w365-facts.json')
                    $exitCode = $verdict.ExitCode
                    $output = $verdict.Output
                }
                $step = [pscustomobject]@{ Name = 'shell-local (sysprep-check)'; ExitCode = $exitCode; Output = $output }
            }
            'windows-restart' {
                Restart-FakeWindows -Machine $Machine
                $step = [pscustomobject]@{ Name = 'windows-restart'; ExitCode = 0; Output = '' }
            }
            default { throw "Unknown provisioner type $($provisioner.type)." }
        }
        if ($null -ne $step) {
            $results.Add($step)
            if ($step.ExitCode -ne 0) {
                break
            }
        }
    }
    return $results.ToArray()
}

function Get-RepositoryNode {
    <#
        The repository's Node (npm ci installs Node 24 there; the bundle and the .ts helper need it).
        On Windows the runner's `node` (setup-node) is that version; npm's .bin shims there are not executables.
    #>
    $local = Join-Path $RepositoryRoot 'node_modules/.bin/node'
    if ($PSVersionTable.PSEdition -ne 'Desktop' -and -not $IsWindows -and (Test-Path -LiteralPath $local -PathType Leaf)) {
        return $local
    }
    return 'node'
}

function Invoke-ImageDiff {
    <# The bundled `w365-image diff OLD NEW --json` on two facts files: ExitCode, Output, Result (the parsed diff). #>
    param([Parameter(Mandatory)] [string] $OldPath, [Parameter(Mandatory)] [string] $NewPath)
    $output = & (Get-RepositoryNode) (Join-Path $RepositoryRoot 'dist/index.js') diff $OldPath $NewPath --json 2>&1 | Out-String
    $exitCode = $LASTEXITCODE
    $parsed = $null
    if ($exitCode -eq 0) {
        $parsed = $output | ConvertFrom-Json
    }
    return [pscustomobject]@{ ExitCode = $exitCode; Output = $output; Result = $parsed }
}

function Get-SysprepVerdict {
    <#
        The contract from guest to verdict: the facts facts.ps1 wrote, validated against
        packer/facts.schema.json, then judged by the bundled `sysprep-check` (dist/index.js).
    #>
    param([Parameter(Mandatory)] [string] $FactsPath, [string] $Teams = 'true')
    $script = Join-Path $PSScriptRoot 'facts-verdict.ts'
    $output = & (Get-RepositoryNode) $script $FactsPath $Teams 2>&1 | Out-String
    $exitCode = $LASTEXITCODE
    $parsed = $null
    $jsonStart = $output.IndexOf('{')
    if ($jsonStart -ge 0) {
        $parsed = $output.Substring($jsonStart) | ConvertFrom-Json
    }
    return [pscustomobject]@{ ExitCode = $exitCode; Output = $output; Result = $parsed }
}
