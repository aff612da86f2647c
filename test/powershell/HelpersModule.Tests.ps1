# The shared helper module (packer/scripts/W365.Helpers.psm1): what a guest script sees of it, and its Windows seam.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Scenarios.ps1')
    . (Join-Path $PSScriptRoot 'PackerRunner.ps1')
    . (Join-Path $PSScriptRoot 'Machines.ps1')
    $scriptsDir = Join-Path $RepositoryRoot 'packer/scripts'
    $modulePath = Join-Path $scriptsDir 'W365.Helpers.psm1'

    function Get-AstOf {
        param([string] $Path)
        $tokens = $null
        $errors = $null
        return [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$tokens, [ref]$errors)
    }

    # The module's own functions, and which of them the guest scripts call (by the PowerShell parser).
    $defined = @((Get-AstOf $modulePath).FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true) | ForEach-Object { $_.Name } | Sort-Object -Unique)
    $called = @{}
    foreach ($guest in @(Get-ChildItem -LiteralPath $scriptsDir -Filter '*.ps1')) {
        foreach ($command in (Get-AstOf $guest.FullName).FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandAst] }, $true)) {
            $name = $command.GetCommandName()
            if ($name -and $defined -contains $name) {
                $called[$name] = $true
            }
        }
    }
    $usedByScripts = @($called.Keys | Sort-Object)

    # A guest-side probe: imports the module exactly as the guest scripts do, on a fake machine with the helper uploaded.
    $machine = New-TestMachine -State (New-CleanBase)
    Invoke-PackerFileUpload -Machine $machine -Source $modulePath -GuestDestination 'C:/w365-build/W365.Helpers.psm1'
    $probe = Join-Path $machine 'probe.ps1'
    function Invoke-Probe {
        param([string[]] $Lines)
        $prologue = @('Set-StrictMode -Version Latest', "`$ErrorActionPreference = 'Stop'", "Import-Module (Join-Path `$env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force")
        [System.IO.File]::WriteAllText($probe, ((@($prologue) + @($Lines)) -join "`n") + "`n")
        return (Invoke-PackerPowerShell -Machine $machine -Script $probe -EnvironmentVars @('W365_BUILD_DIR=C:\w365-build'))
    }
}

Describe 'the helper module' {
    Context 'imported as the template stages it (nothing beside it)' {
        BeforeAll {
            $module = Import-Module $modulePath -Force -PassThru
        }
        AfterAll {
            Remove-Module -Name $module.Name -Force
        }

        It 'exports exactly the functions the guest scripts call' {
            $usedByScripts.Count | Should -BeGreaterThan 15
            @(Get-Command -Module $module.Name | ForEach-Object { $_.Name } | Sort-Object) | Should -Be $usedByScripts
        }

        It 'keeps the internal helpers private' {
            @($defined | Where-Object { $usedByScripts -notcontains $_ }) | Should -Be @('Assert-W365MicrosoftSignature', 'Get-W365RegistryKeyWithValue', 'Get-W365ServicingPauseFile', 'Remove-W365RegistryValue')
            Get-Command -Name 'Assert-W365MicrosoftSignature' -ErrorAction Ignore | Should -BeNullOrEmpty
        }

        It 'exports the machine folders of the Windows seam and nothing else' {
            @($module.ExportedVariables.Keys | Sort-Object) | Should -Be @('W365ProgramData', 'W365ProgramFiles', 'W365SystemDrive', 'W365SystemDriveLetter', 'W365SystemRoot', 'W365UserName')
        }

        It 'uses approved verbs only (imports without a warning)' {
            Import-Module $modulePath -Force -WarningVariable importWarnings -WarningAction SilentlyContinue
            @($importWarnings) | Should -BeNullOrEmpty
        }
    }

    Context 'in a guest script run as Packer runs it' {
        It 'gives the script the exported functions and not a private helper' {
            $run = Invoke-Probe @(
                "Write-W365Log 'exported helper reachable'",
                "foreach (`$name in 'Assert-W365MicrosoftSignature', 'Get-W365RegistryKeyWithValue', 'Remove-W365RegistryValue', 'Get-W365ServicingPauseFile') { Write-Host ('{0} visible={1}' -f `$name, [bool](Get-Command -Name `$name -ErrorAction Ignore)) }",
                "Assert-W365MicrosoftSignature -Path 'C:\w365-build\any.exe'"
            )
            $run.Output | Should -Match '\[w365 [0-9TZ:-]+\] exported helper reachable'
            foreach ($name in 'Assert-W365MicrosoftSignature', 'Get-W365RegistryKeyWithValue', 'Remove-W365RegistryValue', 'Get-W365ServicingPauseFile') {
                $run.Output | Should -Match "$name visible=False"
            }
            $run.Output | Should -Match "'Assert-W365MicrosoftSignature' is not recognized"
            $run.ExitCode | Should -Not -Be 0
        }

        It 'lets the seam replace what the module calls and what the script calls' {
            $state = Get-FakeMachineState -Path $machine
            $edge = $state.registry['hklm:\software\wow6432node\microsoft\windows\currentversion\uninstall\microsoft edge'].values['displayversion'].value
            $run = Invoke-Probe @(
                'Write-Host "root=$W365SystemRoot"',
                '$edge = @(Get-W365InstalledProducts -DisplayNamePattern ''Microsoft Edge'')',
                'Write-Host "edge=$($edge.Count) $($edge[0].displayVersion)"',
                '$appx = Get-Command -Name Get-AppxPackage',
                'Write-Host "appx=$($appx.CommandType) from $($appx.ModuleName)"',
                'Write-Host "provisioned=$(@(Get-AppxProvisionedPackage -Online).Count)"',
                'Write-Host "progress=$ProgressPreference"',
                'exit 0'
            )
            $run.ExitCode | Should -Be 0
            # The fake's folders replace the module's exported variables.
            $run.Output | Should -Match ([regex]::Escape("root=$(Join-Path (Join-Path $machine 'C') 'Windows')"))
            # A module function calling private plumbing (registry subkeys and values) reaches the fake's registry.
            $run.Output | Should -Match ([regex]::Escape("edge=1 $edge"))
            # A Windows cmdlet the script calls itself resolves to the fake, exported from the module's scope.
            $run.Output | Should -Match 'appx=Function from W365.Helpers'
            $run.Output | Should -Match "provisioned=$(@($state.appxProvisioned).Count)\b"
            $run.Output | Should -Match 'progress=SilentlyContinue'
        }
    }
}
