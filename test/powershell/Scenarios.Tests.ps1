# Scenarios: each runs the template's steps it is about, as Packer runs them, then facts.ps1, and asserts the
# verdict the bundled sysprep-check gives on the facts facts.ps1 really wrote (validated against the schema).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Scenarios.ps1')
    . (Join-Path $PSScriptRoot 'TemplateBuild.ps1')
    . (Join-Path $PSScriptRoot 'Machines.ps1')

    function Invoke-Scenario {
        param([hashtable] $State, [string[]] $Only, [hashtable] $Variables = @{}, [string] $Teams = 'true')
        $machine = New-TestMachine -State $State
        $steps = @(Invoke-TemplateBuild -Machine $machine -Only $Only -Variables $Variables)
        $factsPath = Join-Path $machine 'output/w365-facts.json'
        $verdict = $null
        $facts = $null
        if (Test-Path -LiteralPath $factsPath) {
            $verdict = Get-SysprepVerdict -FactsPath $factsPath -Teams $Teams
            $facts = Get-Content -LiteralPath $factsPath -Raw | ConvertFrom-Json
        }
        return [pscustomobject]@{ Machine = $machine; Steps = $steps; Verdict = $verdict; Facts = $facts; State = (Get-FakeMachineState -Path $machine) }
    }

    function Get-Step {
        param($Run, [string] $Name)
        return @($Run.Steps | Where-Object { $_.Name -eq $Name })
    }
}

Describe 'an -m365 base where Teams is already present' {
    BeforeAll {
        $state = New-CleanBase -Sku 'win11-25h2-ent-cpc-m365'
        Add-M365Components -State $state
        $run = Invoke-Scenario -State $state -Only @('teams.ps1', 'cleanup.ps1', 'facts.ps1') -Variables @{ use_m365_sku = $true }
    }
    It 'skips every Teams component, downloads nothing and passes the check' {
        (Get-Step $run 'powershell teams.ps1').ExitCode | Should -Be 0
        @($run.State.events | Where-Object { $_ -like 'download *' }) | Should -BeNullOrEmpty
        (Get-Step $run 'powershell teams.ps1').Output | Should -Match 'already provisioned: skipped'
        $run.Verdict.Result.schemaErrors | Should -BeNullOrEmpty
        $run.Verdict.Result.passed | Should -BeTrue
        $run.Facts.baseImage.sku | Should -Be 'win11-25h2-ent-cpc-m365'
    }
}

Describe 'teamsbootstrapper returns 0x80004004' {
    BeforeAll {
        $state = New-CleanBase
        $state.teamsBootstrapper = @{ exitCode = -2147467260; provisions = $false; output = '{"success":false,"errorCode":"0x80004004","message":"Provisioning failed"}' }
        $run = Invoke-Scenario -State $state -Only @('teams.ps1', 'cleanup.ps1', 'facts.ps1')
    }
    It 'provisions the MSIX directly and the step succeeds although the bootstrapper exit code came last (exit 0)' {
        $teams = Get-Step $run 'powershell teams.ps1'
        $teams.Output | Should -Match 'provisioning the MSTeams MSIX directly'
        $teams.ExitCode | Should -Be 0
        @($run.State.events) | Should -Contain 'appx provisioned MSTeams_25290.205.3950.9185_x64__8wekyb3d8bbwe'
        $run.Verdict.Result.checks.'vm.teams-components' | Should -Be 'pass'
        $run.Verdict.Result.passed | Should -BeTrue
    }
}

Describe 'downloads on a clean base' {
    It 'retries a failing download with back-off, then verifies the signature before running it' {
        $state = New-CleanBase
        $state.downloads['https://aka.ms/vs/17/release/vc_redist.x64.exe'].failFirst = 2
        $run = Invoke-Scenario -State $state -Only @('teams.ps1')
        $teams = Get-Step $run 'powershell teams.ps1'
        $teams.ExitCode | Should -Be 0
        $teams.Output | Should -Match 'Download failed: The remote server returned an error: \(503\) Server Unavailable\..* Retrying in 5 s\.'
        $teams.Output | Should -Match 'Retrying in 10 s.'
        $run.State.downloads['https://aka.ms/vs/17/release/vc_redist.x64.exe'].attempts | Should -Be 3
    }

    It 'refuses to run a download whose signature is not valid' {
        $state = New-CleanBase
        $state.downloads['https://aka.ms/msrdcwebrtcsvc/msi'].signature = 'untrusted'
        $run = Invoke-Scenario -State $state -Only @('teams.ps1')
        $teams = Get-Step $run 'powershell teams.ps1'
        $teams.ExitCode | Should -Not -Be 0
        # pwsh's error view wraps long messages at the console width, anywhere in a word and with colour codes
        # around each line (5.1 does not wrap): the message may be cut at any character.
        $cut = '(?:\s|\x1b\[[0-9;]*m)*'
        $message = 'MsRdcWebRTCSvc_x64.msi is not valid: NotSigned (The file is not digitally signed.)'
        $pattern = (@($message.ToCharArray() | Where-Object { $_ -ne ' ' } | ForEach-Object { [regex]::Escape([string]$_) }) -join $cut)
        $teams.Output | Should -Match $pattern
        @($run.State.events | Where-Object { $_ -like 'start msiexec.exe*' }) | Should -BeNullOrEmpty
    }
}

Describe 'a recovery partition after C:' {
    BeforeAll {
        $state = New-CleanBase
        $os = $state.partitions[2]
        $os.size = [uint64]$os.size - 750 * $Mebibyte
        $null = $state.partitions.Add(@{ diskNumber = 0; partitionNumber = 4; type = 'Recovery'; gptType = '{de94bba4-06d1-4d40-a16a-bfd50179d6ac}'; size = 750 * $Mebibyte; offset = [uint64]$os.offset + [uint64]$os.size; driveLetter = ''; isBoot = $false; isSystem = $false })
        $state.winRe.location = '\\?\GLOBALROOT\device\harddisk0\partition4\Recovery\WindowsRE'
        $run = Invoke-Scenario -State $state -Only @('recovery-partition.ps1', 'facts.ps1')
    }
    It 'removes it, grows C: into the space, re-enables Windows RE on C: and passes the check' {
        (Get-Step $run 'powershell recovery-partition.ps1').ExitCode | Should -Be 0
        @($run.State.partitions | Where-Object { $_.type -eq 'Recovery' }) | Should -BeNullOrEmpty
        $osPartition = @($run.State.partitions | Where-Object { $_.driveLetter -eq 'C' })[0]
        ([uint64]$osPartition.offset + [uint64]$osPartition.size) | Should -Be ([uint64]$run.State.disk.size)
        $run.State.winRe.status | Should -Be 'Enabled'
        $run.Verdict.Result.checks.'vm.no-recovery-partition' | Should -Be 'pass'
        $run.Verdict.Result.schemaErrors | Should -BeNullOrEmpty
    }
}

Describe 'a provisioned app the Store updated for a user (KB 2769827)' {
    BeforeAll {
        $state = New-CleanBase
        $null = $state.appxInstalled.Add(@{ name = 'Microsoft.WindowsTerminal'; packageFullName = 'Microsoft.WindowsTerminal_1.24.10621.0_x64__8wekyb3d8bbwe'; version = '1.24.10621.0'; isFramework = $false; nonRemovable = $false; signatureKind = 'Store'; users = (New-FakeList @(@{ userName = 'pkrvmw365test\packer'; sid = 'S-1-5-21-1004336348-1177238915-682003330-500'; installState = 'Installed' })) })
        $run = Invoke-Scenario -State $state -Only @('facts.ps1')
    }
    It 'is reported by full name although its name is provisioned, and the check fails (AppX compared by full name)' {
        $run.Facts.appx.userPackagesNotProvisioned.packageFullName | Should -Contain 'Microsoft.WindowsTerminal_1.24.10621.0_x64__8wekyb3d8bbwe'
        $run.Verdict.Result.checks.'vm.appx-provisioned' | Should -Be 'fail'
        $run.Verdict.ExitCode | Should -Be 1
    }
}

Describe 'a per-user app that is not provisioned' {
    BeforeAll {
        $state = New-CleanBase
        $null = $state.appxInstalled.Add(@{ name = 'MicrosoftWindows.Client.WebExperience'; packageFullName = 'MicrosoftWindows.Client.WebExperience_525.31002.150.0_x64__cw5n1h2txyewy'; version = '525.31002.150.0'; isFramework = $false; nonRemovable = $false; signatureKind = 'Store'; users = (New-FakeList @(@{ userName = 'pkrvmw365test\packer'; sid = 'S-1-5-21-1004336348-1177238915-682003330-500'; installState = 'Installed' })) })
        $run = Invoke-Scenario -State $state -Only @('facts.ps1')
    }
    It 'fails the AppX check before sysprep would (0x80073cf2)' {
        $run.Verdict.Result.schemaErrors | Should -BeNullOrEmpty
        $run.Verdict.Result.checks.'vm.appx-provisioned' | Should -Be 'fail'
    }
}

Describe 'remove_appx_packages names provisioned apps' {
    BeforeAll {
        $state = New-CleanBase
        $null = $state.appxInstalled.Add(@{ name = 'Microsoft.BingNews'; packageFullName = 'Microsoft.BingNews_4.55.62231.0_x64__8wekyb3d8bbwe'; version = '4.55.62231.0'; isFramework = $false; nonRemovable = $false; signatureKind = 'Store'; users = (New-FakeList @(@{ userName = 'pkrvmw365test\packer'; sid = 'S-1-5-21-1004336348-1177238915-682003330-500'; installState = 'Installed' })) })
        $run = Invoke-Scenario -State $state -Only @('remove-appx.ps1', 'facts.ps1') -Variables @{ remove_appx_packages = @('Microsoft.BingNews', 'Microsoft.Paint') }
    }
    It 'removes them for every user and from the provisioned set, and the facts no longer list them' {
        (Get-Step $run 'powershell remove-appx.ps1').ExitCode | Should -Be 0
        @($run.State.events) | Should -Contain 'appx removed Microsoft.BingNews_4.55.62231.0_x64__8wekyb3d8bbwe'
        @($run.State.events) | Should -Contain 'appx unprovisioned Microsoft.Paint_11.2508.361.0_neutral_~_8wekyb3d8bbwe'
        $run.Facts.appx.provisionedPackageNames | Should -Not -Contain 'Microsoft.BingNews'
        $run.Facts.appx.provisionedPackageNames | Should -Not -Contain 'Microsoft.Paint'
        $run.Verdict.Result.checks.'vm.appx-provisioned' | Should -Be 'pass'
    }
}

Describe 'dsregcmd exits non-zero' {
    BeforeAll {
        $state = New-CleanBase
        $state.dsregcmd.exitCode = 1
        $run = Invoke-Scenario -State $state -Only @('facts.ps1')
    }
    It 'records the error in the facts, the facts step still succeeds (exit 0), and the join check is unverified' {
        (Get-Step $run 'powershell facts.ps1').ExitCode | Should -Be 0
        $run.Facts.join.dsregcmd.error | Should -Match 'dsregcmd.exe exited with code 1'
        $run.Verdict.Result.schemaErrors | Should -BeNullOrEmpty
        $run.Verdict.Result.checks.'vm.not-joined' | Should -Be 'unverified'
        $run.Verdict.Result.passed | Should -BeFalse
    }
}

Describe 'Windows Update' {
    BeforeAll {
        function New-Update {
            param([string] $Title, [switch] $BrowseOnly, [string[]] $Categories = @('Security Updates'), [int] $ResultCode = 2, [switch] $RebootRequired, [int] $OfferedAfterRestarts = 0, [int] $HResult = 0)
            return @{ title = $Title; browseOnly = [bool]$BrowseOnly; categories = $Categories; resultCode = $ResultCode; hresult = $HResult; rebootRequired = [bool]$RebootRequired; offeredAfterRestarts = $OfferedAfterRestarts; installed = $false }
        }
        $updateSteps = @('windows-update.ps1', 'facts.ps1')
    }

    Context 'without a required restart' {
        BeforeAll {
            $state = New-CleanBase
            $state.updates = New-FakeList @(
                (New-Update -Title '2026-12 Cumulative Update for Windows 11, version 25H2 for x64-based Systems (KB5072033)'),
                (New-Update -Title '2026-12 Cumulative Update Preview for Windows 11 (KB5072044)' -BrowseOnly),
                (New-Update -Title 'Windows 11, version 26H1' -BrowseOnly -Categories @('Upgrades'))
            )
            $run = Invoke-Scenario -State $state -Only $updateSteps -Variables @{ windows_update = $true }
        }
        It 'installs the required update only: BrowseOnly=0 leaves previews and feature updates out' {
            @($run.Steps | Where-Object { $_.ExitCode -ne 0 }) | Should -BeNullOrEmpty
            @($run.State.events) | Should -Contain 'wu installed 2026-12 Cumulative Update for Windows 11, version 25H2 for x64-based Systems (KB5072033)'
            @($run.State.events | Where-Object { $_ -like 'wu installed*Preview*' -or $_ -like 'wu installed*26H1*' }) | Should -BeNullOrEmpty
            $run.Verdict.Result.checks.'vm.no-pending-reboot' | Should -Be 'pass'
        }
    }

    Context 'with a required restart and an update offered only after it' {
        BeforeAll {
            $state = New-CleanBase
            $state.updates = New-FakeList @(
                (New-Update -Title 'Servicing Stack Update (KB5071000)' -RebootRequired),
                (New-Update -Title '2026-12 Cumulative Update (KB5072033)' -RebootRequired -OfferedAfterRestarts 1)
            )
            $run = Invoke-Scenario -State $state -Only $updateSteps -Variables @{ windows_update = $true }
        }
        It 'installs across passes with a restart between them until nothing is offered or pending' {
            @($run.Steps | Where-Object { $_.ExitCode -ne 0 }) | Should -BeNullOrEmpty
            $events = @($run.State.events)
            [array]::IndexOf($events, 'wu installed 2026-12 Cumulative Update (KB5072033)') | Should -BeGreaterThan ([array]::IndexOf($events, 'restart'))
            (Get-Step $run 'powershell windows-update.ps1 W365_WINDOWS_UPDATE_PASS=final').Output | Should -Match 'nothing left to install'
            $run.Verdict.Result.checks.'vm.no-pending-reboot' | Should -Be 'pass'
        }
    }

    Context 'with updates still coming after the last pass' {
        BeforeAll {
            $state = New-CleanBase
            $state.updates = New-FakeList @((New-Update -Title 'Late update (KB5079999)' -OfferedAfterRestarts 3))
            $run = Invoke-Scenario -State $state -Only @('windows-update.ps1') -Variables @{ windows_update = $true }
        }
        It 'stops the build at the final pass, naming what is left' {
            $final = Get-Step $run 'powershell windows-update.ps1 W365_WINDOWS_UPDATE_PASS=final'
            $final.ExitCode | Should -Not -Be 0
            $final.Output | Should -Match 'Late update \(KB5079999\)'
        }
    }

    Context 'with one failing update' {
        BeforeAll {
            $state = New-CleanBase
            $state.updates = New-FakeList @(
                (New-Update -Title 'Good update (KB5070001)'),
                (New-Update -Title 'Broken update (KB5070002)' -ResultCode 4 -HResult -2147023293)
            )
            $run = Invoke-Scenario -State $state -Only @('windows-update.ps1') -Variables @{ windows_update = $true }
        }
        It 'fails the pass and names the update with its HRESULT' {
            $pass = Get-Step $run 'powershell windows-update.ps1 W365_WINDOWS_UPDATE_PASS=1'
            $pass.ExitCode | Should -Not -Be 0
            $pass.Output | Should -Match 'Failed \(HRESULT 0x80070643\): Broken update \(KB5070002\)'
            $pass.Output | Should -Match 'Windows Update installation failed'
            @($run.Steps | Where-Object { $_.Name -like '*PASS=2' }) | Should -BeNullOrEmpty
        }
    }

    Context 'run over WinRM instead of the elevated task' {
        It 'is refused by the Windows Update Agent (the template must keep elevated_user)' {
            $machine = New-TestMachine -State (New-CleanBase)
            Invoke-PackerFileUpload -Machine $machine -Source (Join-Path $RepositoryRoot 'packer/scripts/W365.Helpers.psm1') -GuestDestination 'C:/w365-build/W365.Helpers.psm1'
            $run = Invoke-PackerPowerShell -Machine $machine -Script (Join-Path $RepositoryRoot 'packer/scripts/windows-update.ps1') -EnvironmentVars @('W365_BUILD_DIR=C:\w365-build', 'W365_WINDOWS_UPDATE=true', 'W365_WINDOWS_UPDATE_PASS=1')
            $run.ExitCode | Should -Not -Be 0
            $run.Output | Should -Match '0x80070005'
        }
    }
}

Describe 'sysprep' {
    BeforeAll {
        function Invoke-SysprepScenario {
            param([string] $Outcome)
            $state = New-CleanBase
            $state.sysprep.outcome = $Outcome
            # Facts first, as in the template: taken before sysprep, they pass the check whatever sysprep does next.
            $run = Invoke-Scenario -State $state -Only @('servicing-pause.ps1', 'cleanup.ps1', 'facts.ps1', 'sysprep.ps1') -Teams 'false'
            $run.Verdict.Result.schemaErrors | Should -BeNullOrEmpty
            $run.Verdict.Result.passed | Should -BeTrue
            $started = [DateTime]::new([long]$run.State.sysprep.startedTicks, [DateTimeKind]::Utc)
            $ended = [DateTime]::new([long]$run.State.clockTicks, [DateTimeKind]::Utc)
            return [pscustomobject]@{ Step = (Get-Step $run 'powershell sysprep.ps1'); Waited = ($ended - $started); State = $run.State }
        }
    }

    It 'reaches IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE and succeeds' {
        $result = Invoke-SysprepScenario -Outcome 'sealed'
        $result.Step.ExitCode | Should -Be 0
        $result.Step.Output | Should -Match 'Sysprep finished'
    }

    It 'fails fast on IMAGE_STATE_UNDEPLOYABLE with the reason and the Panther logs' {
        $result = Invoke-SysprepScenario -Outcome 'undeployable'
        $result.Step.ExitCode | Should -Not -Be 0
        $result.Step.Output | Should -Match 'ImageState is IMAGE_STATE_UNDEPLOYABLE'
        $result.Step.Output | Should -Match 'SysprepGeneralizeValidate'
        $result.Waited.TotalMinutes | Should -BeLessThan 5
    }

    It 'fails fast on an error in setuperr.log and prints it' {
        $result = Invoke-SysprepScenario -Outcome 'setuperr'
        $result.Step.ExitCode | Should -Not -Be 0
        $result.Step.Output | Should -Match 'setuperr.log reports 1 error'
        $result.Step.Output | Should -Match 'was installed for a user, but not provisioned for all users'
        $result.Waited.TotalMinutes | Should -BeLessThan 5
    }

    It 'times out after sysprep_timeout_minutes and prints the Panther logs' {
        $result = Invoke-SysprepScenario -Outcome 'hang'
        $result.Step.ExitCode | Should -Not -Be 0
        $result.Step.Output | Should -Match 'Timed out after 30 minute\(s\) waiting for ImageState'
        $result.Step.Output | Should -Match 'setupact.log \(errors and warnings\)'
        $result.Waited.TotalMinutes | Should -BeGreaterOrEqual 30
    }
}

Describe 'the instance metadata service does not answer' {
    It 'records the error in baseImage and buildVm instead of guessing, and the security check is unverified' {
        $state = New-CleanBase
        $state.imdsJson = $null
        $run = Invoke-Scenario -State $state -Only @('cleanup.ps1', 'facts.ps1')
        (Get-Step $run 'powershell facts.ps1').ExitCode | Should -Be 0
        $run.Facts.baseImage.exactVersion | Should -BeNullOrEmpty
        $run.Facts.baseImage.error | Should -Match 'Unable to connect to the remote server'
        $run.Facts.buildVm.error | Should -Match 'Unable to connect to the remote server'
        $run.Verdict.Result.schemaErrors | Should -BeNullOrEmpty
        $run.Verdict.Result.checks.'vm.generation-and-security-type' | Should -Be 'unverified'
        $run.Verdict.Result.passed | Should -BeFalse
    }
}

Describe 'an answer file that fixes the computer name, read without the clean-up step' {
    It 'is observed as still there (removedBeforeSysprep false) and fails the computer-name check' {
        $run = Invoke-Scenario -State (New-CleanBase) -Only @('facts.ps1')
        $file = @($run.Facts.unattend.files | Where-Object { $_.path -like '*Panther*Unattend.xml' -and $_.exists })[0]
        $file.computerNames | Should -Contain 'pkrvmw365test'
        $file.removedBeforeSysprep | Should -BeFalse
        $run.Verdict.Result.checks.'vm.computer-name-customizable' | Should -Be 'fail'
    }
}
