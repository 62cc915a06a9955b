package dev.flyer.cli;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dependency rules of ARCHITECTURE.md, checked on the compiled classes of every module
 * (flyer-cli depends on all of them, so its test class path holds them all).
 */
class ArchitectureTest {
    private static JavaClasses classes;
    private static Set<String> modules;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.flyer");
        modules = new TreeSet<>();
        for (JavaClass c : classes) {
            String[] parts = c.getPackageName().split("\\.");
            if (parts.length >= 3) {
                modules.add(parts[2]);
            }
        }
    }

    @Test
    void seesEveryModule() {
        assertThat(modules).contains("core", "bench", "cli");
    }

    @Test
    void coreDependsOnNoOtherModule() {
        classes().that().resideInAPackage("dev.flyer.core..")
                .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.flyer..").or(resideInAPackage("dev.flyer.core..")))
                .check(classes);
    }

    @Test
    void kernelsDependOnlyOnCore() {
        for (String kernel : new String[] {"gemm", "mla"}) {
            classes().that().resideInAPackage("dev.flyer." + kernel + "..")
                    .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.flyer..")
                            .or(resideInAPackage("dev.flyer.core..")).or(resideInAPackage("dev.flyer." + kernel + "..")))
                    .allowEmptyShould(true).check(classes);
        }
    }

    @Test
    void internalPackagesAreNotUsedAcrossModules() {
        for (String module : modules) {
            noClasses().that().resideOutsideOfPackage("dev.flyer." + module + "..")
                    .should().dependOnClassesThat().resideInAPackage("dev.flyer." + module + "..internal..")
                    .allowEmptyShould(true).check(classes);
        }
    }

    @Test
    void nothingDependsOnTheCliAndOnlyTheCliOnBench() {
        noClasses().that().resideOutsideOfPackage("dev.flyer.cli..")
                .should().dependOnClassesThat().resideInAPackage("dev.flyer.cli..").check(classes);
        noClasses().that(not(resideInAPackage("dev.flyer.cli..")).and(not(resideInAPackage("dev.flyer.bench.."))))
                .should().dependOnClassesThat().resideInAPackage("dev.flyer.bench..").allowEmptyShould(true).check(classes);
    }

    @Test
    void modulesHaveNoCycles() {
        slices().matching("dev.flyer.(*)..").should().beFreeOfCycles().check(classes);
    }

    @Test
    void nobodyUsesSunMiscUnsafe() {
        noClasses().should().dependOnClassesThat().haveFullyQualifiedName("sun.misc.Unsafe").check(classes);
    }
}
